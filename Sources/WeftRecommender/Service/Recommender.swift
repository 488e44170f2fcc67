import Foundation
import SwiftProtobuf
import WeftProtocol

/// The recommender: profiles that re-rank a model's candidates and a catalogue for a
/// user, and learn online from feedback.
///
/// Each method takes a decoded request and returns its reply or throws a ``WeftError``.
/// Feedback is acknowledged only after its store transaction committed.
public final class Recommender: @unchecked Sendable {
  // @unchecked: every public method holds `lock` for its whole run (the worker calls
  // from one compute thread, so it is never contended there).
  private let lock = NSLock()
  let configuration: RecommenderConfiguration
  let store: any ProfileStore
  let projection: Projection
  let checks: RequestChecks
  var catalog: Catalog
  var profiles: GenerationalCache<String, StoredProfile>
  var recent: RecentCandidates
  /// Everyone's feedback pooled, and the posterior mean it gives: a new user's prior.
  var population: StoredProfile
  var populationMean: [Double]
  var random: SplitMix64
  let metrics = RecommenderMetrics()
  /// Whether the population and catalogue were read from the store; false while it was
  /// unreachable since start.
  var loaded = false
  /// When events older than the idempotency window were last forgotten.
  var lastForgetting = ContinuousClock.now

  /// What the profile model needs of an item.
  struct ItemFeatures {
    var projected: [Float]
    var labels: [String]
  }

  /// Opens the store `configuration.store` names (a SQLite file, or a PostgreSQL
  /// database) and loads the catalogue.
  public convenience init(configuration: RecommenderConfiguration) throws {
    let store: any ProfileStore =
      configuration.storeIsPostgres
      ? try PostgresProfileStore(location: configuration.store, layout: configuration.layout)
      : try SQLiteProfileStore(path: configuration.store, layout: configuration.layout, durability: configuration.durability)
    try self.init(configuration: configuration, store: store)
  }

  /// Serves from `store`, whose layout wins over the configuration's.
  ///
  /// A store that cannot be reached now (a database server down) is not an error here:
  /// calls answer UNAVAILABLE until it can, and the recommender loads then.
  public init(configuration: RecommenderConfiguration, store: any ProfileStore) throws {
    self.configuration = configuration
    self.store = store
    projection = Projection(layout: store.layout)
    checks = RequestChecks(embeddingDimensions: store.layout.embeddingDimensions)
    let dimensions = store.layout.profileDimensions
    catalog = Catalog(dimensions: dimensions)
    profiles = GenerationalCache(capacity: configuration.cachedProfiles)
    recent = RecentCandidates(capacity: configuration.rememberedCandidates, dimensions: store.layout.embeddingDimensions)
    population = .empty(user: "", dimensions: dimensions)
    populationMean = []
    random = SplitMix64(seed: UInt64(Date().timeIntervalSince1970 * 1e6))
    populationMean = posterior(of: population, prior: nil).mean
    do {
      try reloadFromStore()
    } catch let error where Self.storageError(error, doing: "").code == .unavailable {
      loaded = false
    }
  }

  /// Runs `body` holding the lock, once memory agrees with the store.
  func locked<Result>(_ body: () throws -> Result) throws -> Result {
    lock.lock()
    defer { lock.unlock() }
    do {
      try syncWithStore()
      return try body()
    } catch {
      throw Self.storageError(error, doing: "reading the profile store")
    }
  }

  // MARK: - Ranking

  /// Re-ranks a model's candidates for a user.
  public func personalize(_ request: Weft_V1_PersonalizeRequest, headerUser: String) throws -> Weft_V1_RankedItems {
    try personalize(PersonalizeInput(request), headerUser: headerUser).message
  }

  func personalize(_ input: PersonalizeInput, headerUser: String) throws -> Ranking {
    try locked {
      let user = try checks.user(input.user, header: headerUser)
      try checks.count(input.count, of: "candidates")
      let matrix = try input.matrix.map { try checks.embeddingMatrix($0, rows: input.count) }
      for index in 0..<input.count {
        let id = input.ids[index]
        try checks.identifier(id, "a candidate id")
        try checks.finite(input.modelScores[index], "the model score of '\(id)'")
        try checks.embedding(input.embeddings[index], of: id, required: false)
        try checks.labels(input.labels[index], of: id)
        if matrix != nil && !input.embeddings[index].isEmpty {
          throw WeftError(
            .invalidArgument, "candidate '\(id)' has an embedding and the request an embeddings matrix: send one or the other")
        }
      }
      try checks.unique(input.ids.lazy, "candidate id")
      let exploration = try checks.exploration(
        input.exploration.map { scale in .with { $0.scale = scale } }, default: configuration.exploration)

      let (items, labels) = candidateVectors(input, matrix: matrix)
      let profile = try storedProfile(of: user)
      let parts = score(profile, items: items, labels: labels, modelScores: input.modelScores, exploration: exploration)
      let limit = input.topK == 0 ? input.count : min(Int(input.topK), input.count)
      return Ranking(
        ids: input.ids, labels: input.labels, parts: parts, order: parts.ranking().prefix(limit),
        modelRanks: Ranker.ranks(of: input.modelScores), profileEvents: profile.events)
    }
  }

  /// The top `k` catalogue items for a user, without those they rated unless asked.
  public func recommend(_ request: Weft_V1_RecommendRequest, headerUser: String) throws -> Weft_V1_RankedItems {
    try locked {
      let user = try checks.user(request.user, header: headerUser)
      guard (1...1_000).contains(request.k) else {
        throw WeftError(.invalidArgument, "k must be between 1 and 1000; got \(request.k)")
      }
      let exploration = try checks.exploration(request.hasExploration ? request.exploration : nil, default: configuration.exploration)
      let profile = try storedProfile(of: user)
      var reply = Weft_V1_RankedItems()
      reply.profileEvents = profile.events
      reply.catalogSize = UInt64(catalog.count)
      guard catalog.count > 0 else { return reply }
      let items = ItemVectors(projected: catalog.projected, count: catalog.count, dimensions: catalog.dimensions)
      let parts = score(profile, items: items, labels: catalog.labels, modelScores: catalog.baseScores, exploration: exploration)
      let rated = request.includeRated ? [] : try store.ratedItems(of: user)
      reply.items = parts.ranking().lazy.filter { !rated.contains(self.catalog.ids[$0]) }.prefix(Int(request.k)).map { index in
        Self.scored(
          self.catalog.ids[index], labels: self.catalog.labels[index], parts: parts, index: index,
          modelRank: self.catalog.baseRanks[index])
      }
      return reply
    }
  }

  /// What the recommender holds about a user.
  public func profile(_ request: Weft_V1_ProfileRequest, headerUser: String) throws -> Weft_V1_Profile {
    try locked {
      let user = try checks.user(request.user, header: headerUser)
      let profile = try storedProfile(of: user)
      let affinities = labelAffinities(for: profile)
      var reply = Weft_V1_Profile()
      reply.user = user
      reply.exists = profile.events > 0
      reply.events = profile.events
      reply.meanReward = profile.events == 0 ? 0 : Float(profile.rewardSum / Double(profile.events))
      reply.preference = posterior(of: profile, prior: populationMean).mean.map(Float.init)
      reply.labels = profile.labels.sorted { ($0.value.events, $1.key) > ($1.value.events, $0.key) }.map { label, statistics in
        var affinity = Weft_V1_LabelAffinity()
        affinity.label = label
        affinity.events = statistics.events
        affinity.affinity = Float(affinities.affinity(label))
        return affinity
      }
      reply.ratedItems = UInt64(try store.ratedItems(of: user).count)
      reply.updatedUnixMs = profile.updatedUnixMs
      return reply
    }
  }

  // MARK: - Shared by the methods

  /// The user's statistics from memory or the store; empty for a new user.
  func storedProfile(of user: String) throws -> StoredProfile {
    if let cached = profiles.value(for: user) { return cached }
    let profile = try store.profile(of: user) ?? .empty(user: user, dimensions: store.layout.profileDimensions)
    profiles.insert(profile, for: user)
    metrics.cached(profiles.count)
    return profile
  }

  func posterior(of profile: StoredProfile, prior: [Double]?) -> Posterior {
    Posterior(statistics: profile, priorMean: prior, priorPrecision: configuration.priorPrecision)
  }

  func labelAffinities(for profile: StoredProfile) -> LabelAffinities {
    LabelAffinities(user: profile.labels, population: population.labels, priorEvents: configuration.labelPriorEvents)
  }

  private func score(
    _ profile: StoredProfile, items: ItemVectors, labels: [[String]], modelScores: [Float], exploration: Float
  ) -> ScoreParts {
    Ranker.score(
      items: items, labels: labels, modelScores: modelScores, modelWeight: configuration.modelWeight,
      posterior: posterior(of: profile, prior: populationMean), labelAffinities: labelAffinities(for: profile),
      exploration: exploration, strategy: configuration.strategy, random: &random)
  }

  /// The candidates as the ranker reads them, and their labels (the request's, else the
  /// catalogue's). Embeddings from the request are scored in their own space, against
  /// the profile's vectors lifted into it, so they are never projected one by one;
  /// candidates without one take the catalogue's projection, else zeros. Those that
  /// came with an embedding or labels are remembered, so later feedback on them needs
  /// only the id.
  private func candidateVectors(_ input: PersonalizeInput, matrix: [Float]?) -> (ItemVectors, [[String]]) {
    let (count, embeddingSize, profileSize) = (input.count, store.layout.embeddingDimensions, store.layout.profileDimensions)
    var hasEmbedding = [Bool](repeating: matrix != nil, count: count)
    var embeddings = matrix ?? []
    if matrix == nil, input.embeddings.contains(where: { !$0.isEmpty }) {
      embeddings = [Float](repeating: 0, count: count * embeddingSize)
      for (row, embedding) in input.embeddings.enumerated() where !embedding.isEmpty {
        embeddings.replaceSubrange(row * embeddingSize..<(row + 1) * embeddingSize, with: embedding)
        hasEmbedding[row] = true
      }
    }
    var labels = input.labels
    var known: [(row: Int, projected: ArraySlice<Float>)] = []
    var remember = [Bool](repeating: false, count: count)
    for row in 0..<count {
      remember[row] = hasEmbedding[row] || !labels[row].isEmpty
      guard !hasEmbedding[row] || labels[row].isEmpty, let item = catalog.item(input.ids[row]) else { continue }
      if !hasEmbedding[row] { known.append((row, item.projected)) }
      if labels[row].isEmpty { labels[row] = item.labels }
    }
    recent.remember(ids: input.ids, embeddings: embeddings, hasEmbedding: hasEmbedding, labels: labels, where: remember)
    let projection = self.projection
    let items = ItemVectors(
      innerProducts: { vector in
        var products =
          embeddings.isEmpty
          ? [Float](repeating: 0, count: count)
          : Ranker.product(embeddings, count: count, dimensions: embeddingSize, vector: projection.lift(vector))
        for (row, projected) in known { products[row] = zip(projected, vector).reduce(0) { $0 + $1.0 * $1.1 } }
        return products
      },
      projectedRows: {
        var rows = [Float](repeating: 0, count: count * profileSize)
        if !embeddings.isEmpty {
          embeddings.withUnsafeBufferPointer { input in
            rows.withUnsafeMutableBufferPointer { projection.project(input.baseAddress!, count: count, into: $0.baseAddress!) }
          }
        }
        for (row, projected) in known { rows.replaceSubrange(row * profileSize..<(row + 1) * profileSize, with: projected) }
        return rows
      })
    return (items, labels)
  }

  static func scored(
    _ id: String, labels: [String], parts: ScoreParts, index: Int, modelRank: UInt32
  ) -> Weft_V1_ScoredCandidate {
    var item = Weft_V1_ScoredCandidate()
    item.id = id
    item.labels = labels
    item.modelPart = parts.modelPart[index]
    item.affinity = parts.affinity[index]
    item.exploration = parts.exploration[index]
    item.score = parts.total(index)
    item.modelRank = modelRank
    item.index = UInt32(index)
    return item
  }
}
