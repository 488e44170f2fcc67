import Foundation
import WeftProtocol

extension Recommender {
  /// Applies several feedback requests in one store transaction (a group commit), and
  /// returns each request's reply only once that transaction is durable.
  ///
  /// A request with a bad event fails alone and writes nothing; a failed commit fails
  /// every request of the group, and none of their changes stays in memory.
  public func feedback(_ requests: [(request: Weft_V1_FeedbackRequest, headerUser: String)]) -> [Result<
    Weft_V1_FeedbackResponse, WeftError
  >] {
    feedbackOutcomes(requests).map { $0.map(\.reply) }
  }

  /// What one feedback request came to.
  public struct FeedbackOutcome: Sendable {
    /// The reply: events applied and duplicates.
    public var reply: Weft_V1_FeedbackResponse
    /// The sum of the applied events' rewards (duplicates left out), for crediting the
    /// version whose reply the events were about.
    public var appliedRewardSum: Double
  }

  /// ``feedback(_:)``, with each request's applied rewards.
  public func feedbackOutcomes(_ requests: [(request: Weft_V1_FeedbackRequest, headerUser: String)]) -> [Result<
    FeedbackOutcome, WeftError
  >] {
    do {
      return try locked { commitFeedback(requests) }
    } catch {
      let failure = Self.storageError(error, doing: "recording feedback")
      for request in requests { metrics.refused(request.request.events.count) }
      return requests.map { _ in .failure(failure) }
    }
  }

  private func commitFeedback(_ requests: [(request: Weft_V1_FeedbackRequest, headerUser: String)]) -> [Result<
    FeedbackOutcome, WeftError
  >] {
    var results = [Result<FeedbackOutcome, WeftError>?](repeating: nil, count: requests.count)
    var accepted: [(index: Int, events: [(FeedbackEvent, ItemFeatures)])] = []
    for (index, request) in requests.enumerated() {
      do {
        accepted.append((index, try prepare(request.request, headerUser: request.headerUser)))
      } catch let error as WeftError {
        results[index] = .failure(error)
        metrics.refused(request.request.events.count)
      } catch {
        results[index] = .failure(WeftError(.internal, "\(error)"))
        metrics.refused(request.request.events.count)
      }
    }
    guard !accepted.isEmpty else { return results.map { $0! } }
    let users = Set(accepted.lazy.flatMap { $0.events.lazy.map(\.0.user) }).sorted()
    let started = ContinuousClock.now
    do {
      // The store may run this again after losing a lock to another process: it starts
      // from what is committed each time.
      let (update, counts) = try store.transaction { transaction in
        var update = FeedbackUpdate(recommender: self, current: try transaction.profilesForUpdate(of: users))
        var isNew = try transaction.record(accepted.flatMap { $0.events.map(\.0) }).makeIterator()
        let counts = accepted.map { request in
          var counts = (applied: UInt32(0), duplicates: UInt32(0), rewardSum: 0.0)
          for (event, features) in request.events {
            if isNew.next() == true {
              update.apply(event, features)
              counts.applied += 1
              counts.rewardSum += Double(event.reward)
            } else {
              counts.duplicates += 1
            }
          }
          return counts
        }
        try update.save(in: transaction)
        return (update, counts)
      }
      metrics.committed(in: ContinuousClock.now - started)
      for (user, profile) in update.profiles { profiles.insert(profile, for: user) }
      metrics.cached(profiles.count)
      if update.delta.events > 0 {
        var population = self.population
        population.merge(update.delta, sign: 1)
        setPopulation(population)
      }
      for (request, counts) in zip(accepted, counts) {
        var reply = Weft_V1_FeedbackResponse()
        reply.applied = counts.applied
        reply.duplicates = counts.duplicates
        results[request.index] = .success(FeedbackOutcome(reply: reply, appliedRewardSum: counts.rewardSum))
        metrics.recorded(applied: counts.applied, duplicates: counts.duplicates)
      }
    } catch {
      let failure = Self.storageError(error, doing: "recording feedback")
      for request in accepted {
        results[request.index] = .failure(failure)
        metrics.refused(request.events.count)
      }
    }
    forgetOldEventsIfDue()
    return results.map { $0! }
  }

  /// Checks a feedback request and finds each event's item.
  private func prepare(_ request: Weft_V1_FeedbackRequest, headerUser: String) throws -> [(FeedbackEvent, ItemFeatures)] {
    try checks.count(request.events.count, of: "feedback events")
    let now = Int64(Date().timeIntervalSince1970 * 1_000)
    return try request.events.map { event in
      let user = try checks.user(event.user, header: headerUser)
      try checks.identifier(event.item, "an item id")
      try checks.identifier(event.eventID, "the event id of feedback on '\(event.item)'")
      guard event.reward.isFinite, (-1...1).contains(event.reward) else {
        throw WeftError(.invalidArgument, "reward for '\(event.item)' must be between -1 and 1; got \(event.reward)")
      }
      try checks.embedding(event.embedding, of: event.item, required: false)
      try checks.labels(event.labels, of: event.item)
      let stored = FeedbackEvent(eventID: event.eventID, user: user, item: event.item, reward: event.reward, unixMs: now)
      return (stored, try features(of: event))
    }
  }

  /// The event's own embedding and labels, else the catalogue's, else those of a
  /// recently personalised candidate.
  private func features(of event: Weft_V1_Feedback) throws -> ItemFeatures {
    let labels = Array(Set(event.labels)).sorted()
    if !event.embedding.isEmpty { return ItemFeatures(projected: projection.project(event.embedding), labels: labels) }
    if let item = catalog.item(event.item) {
      return ItemFeatures(projected: Array(item.projected), labels: labels.isEmpty ? item.labels : labels)
    }
    if let item = recent.features(of: event.item, projection: projection) {
      let projected = item.projected ?? Array(repeating: 0, count: store.layout.profileDimensions)
      return ItemFeatures(projected: projected, labels: labels.isEmpty ? item.labels : labels)
    }
    guard !labels.isEmpty else {
      throw WeftError(
        .notFound,
        "item '\(event.item)' is unknown: upsert it to the catalogue, personalise it first, or send its embedding or labels")
    }
    return ItemFeatures(projected: Array(repeating: 0, count: store.layout.profileDimensions), labels: labels)
  }

  /// Removes everything held about a user, from the population's statistics as well.
  public func deleteProfile(_ request: Weft_V1_ProfileRequest, headerUser: String) throws -> Weft_V1_ProfileDeleteResponse {
    try locked {
      let user = try checks.user(request.user, header: headerUser)
      do {
        let existing = try store.transaction { transaction in
          let existing = try transaction.profilesForUpdate(of: [user])[user]
          if let existing { try transaction.addToPopulation(existing, sign: -1) }
          try transaction.deleteUser(user)
          return existing
        }
        profiles.remove(user)
        if let existing {
          var population = self.population
          population.merge(existing, sign: -1)
          setPopulation(population)
        }
        var reply = Weft_V1_ProfileDeleteResponse()
        reply.existed = existing != nil
        reply.eventsRemoved = existing?.events ?? 0
        return reply
      } catch {
        throw Self.storageError(error, doing: "deleting the profile of '\(user)'")
      }
    }
  }

  /// Adds or replaces catalogue items, on disk first, then in memory.
  public func upsertCatalog(_ request: Weft_V1_CatalogUpsertRequest) throws -> Weft_V1_CatalogUpsertResponse {
    try locked {
      try checks.count(request.items.count, of: "catalogue items")
      for item in request.items {
        try checks.identifier(item.id, "a catalogue item id")
        try checks.embedding(item.embedding, of: item.id, required: true)
        try checks.labels(item.labels, of: item.id)
        try checks.finite(item.baseScore, "the base score of '\(item.id)'")
      }
      try checks.unique(request.items.lazy.map(\.id), "catalogue item id")
      guard !catalog.wouldExceed(configuration.maxCatalogItems, adding: request.items.lazy.map(\.id)) else {
        throw WeftError(
          .resourceExhausted, "the catalogue holds \(catalog.count) items; this would take it past its limit of \(configuration.maxCatalogItems)")
      }
      let records = request.items.map {
        CatalogRecord(id: $0.id, embedding: $0.embedding, labels: Array(Set($0.labels)).sorted(), baseScore: $0.baseScore)
      }
      do {
        try store.transaction { try $0.upsert(records) }
      } catch {
        throw Self.storageError(error, doing: "writing the catalogue")
      }
      load(records)
      var reply = Weft_V1_CatalogUpsertResponse()
      reply.upserted = UInt32(records.count)
      reply.catalogSize = UInt64(catalog.count)
      return reply
    }
  }

}

/// The profile changes of one feedback group, made on copies of what is committed and
/// kept only if the transaction commits.
private struct FeedbackUpdate {
  let recommender: Recommender
  /// The group's users as committed when the transaction locked them.
  let current: [String: StoredProfile]
  var profiles: [String: StoredProfile] = [:]
  /// What the group adds to the population's statistics.
  var delta: StoredProfile
  /// Each touched user's posterior mean before this group: what the embedding part
  /// predicted, whose residual the label statistics learn.
  var means: [String: [Double]] = [:]
  var changedLabels: [String: Set<String>] = [:]
  let now = Int64(Date().timeIntervalSince1970 * 1_000)

  init(recommender: Recommender, current: [String: StoredProfile]) {
    self.recommender = recommender
    self.current = current
    delta = .empty(user: "", dimensions: recommender.store.layout.profileDimensions)
  }

  /// Applies one new event.
  mutating func apply(_ event: FeedbackEvent, _ features: Recommender.ItemFeatures) {
    let dimensions = recommender.store.layout.profileDimensions
    var profile = profiles[event.user] ?? current[event.user] ?? .empty(user: event.user, dimensions: dimensions)
    let mean = means[event.user] ?? recommender.posterior(of: profile, prior: recommender.populationMean).mean
    means[event.user] = mean
    let reward = Double(event.reward)
    var predicted = 0.0
    for (value, weight) in zip(features.projected, mean) { predicted += Double(value) * weight }
    let residual = reward - predicted
    features.projected.withUnsafeBufferPointer {
      profile.observe($0, reward: reward)
      delta.observe($0, reward: reward)
    }
    profile.events += 1
    profile.rewardSum += reward
    profile.updatedUnixMs = now
    delta.events += 1
    delta.rewardSum += reward
    delta.updatedUnixMs = now
    let limit = recommender.configuration.maxLabelsPerProfile
    let populationLabels = recommender.population.labels
    for label in features.labels {
      if Self.add(residual, to: label, of: &profile, limit: limit) { changedLabels[event.user, default: []].insert(label) }
      // The population's limit counts what it has and what this group adds.
      if populationLabels[label] != nil || delta.labels[label] != nil || populationLabels.count + delta.labels.count < limit * 64 {
        _ = Self.add(residual, to: label, of: &delta, limit: .max)
      }
    }
    profiles[event.user] = profile
  }

  /// Counts a residual for a label; a profile at its label limit ignores new labels.
  private static func add(_ residual: Double, to label: String, of profile: inout StoredProfile, limit: Int) -> Bool {
    guard profile.labels[label] != nil || profile.labels.count < limit else { return false }
    profile.labels[label, default: LabelStatistics(events: 0, residualSum: 0)].events += 1
    profile.labels[label]!.residualSum += residual
    return true
  }

  func save(in transaction: any ProfileStoreTransaction) throws {
    for (user, profile) in profiles { try transaction.save(profile, changedLabels: Array(changedLabels[user] ?? [])) }
    if delta.events > 0 { try transaction.addToPopulation(delta, sign: 1) }
  }
}
