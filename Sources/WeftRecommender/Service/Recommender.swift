import Foundation
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
  var remembered: GenerationalCache<String, ItemFeatures>
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
    remembered = GenerationalCache(capacity: configuration.rememberedCandidates)
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
    try locked {
      let user = try checks.user(request.user, header: headerUser)
      let candidates = request.candidates
      try checks.count(candidates.count, of: "candidates")
      let matrix = request.hasEmbeddings ? try checks.embeddingMatrix(request.embeddings, rows: candidates.count) : nil
      for candidate in candidates {
        try checks.identifier(candidate.id, "a candidate id")
        try checks.finite(candidate.modelScore, "the model score of '\(candidate.id)'")
        try checks.embedding(candidate.embedding, of: candidate.id, required: false)
        try checks.labels(candidate.labels, of: candidate.id)
        if matrix != nil && !candidate.embedding.isEmpty {
          throw WeftError(
            .invalidArgument, "candidate '\(candidate.id)' has an embedding and the request an embeddings matrix: send one or the other")
        }
      }
      try checks.unique(candidates.lazy.map(\.id), "candidate id")
      let exploration = try checks.exploration(request.hasExploration ? request.exploration : nil, default: configuration.exploration)

      let features = features(of: candidates, matrix: matrix)
      let profile = try storedProfile(of: user)
      let modelScores = candidates.map(\.modelScore)
      let parts = score(
        profile, projected: features.projected, labels: features.labels, modelScores: modelScores, exploration: exploration)
      let modelRanks = Ranker.ranks(of: modelScores)
      var reply = Weft_V1_RankedItems()
      reply.profileEvents = profile.events
      let limit = request.topK == 0 ? candidates.count : min(Int(request.topK), candidates.count)
      reply.items = parts.ranking().prefix(limit).map { index in
        Self.scored(candidates[index].id, labels: candidates[index].labels, parts: parts, index: index, modelRank: modelRanks[index])
      }
      return reply
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
      let parts = score(
        profile, projected: catalog.projected, labels: catalog.labels, modelScores: catalog.baseScores, exploration: exploration)
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
    _ profile: StoredProfile, projected: [Float], labels: [[String]], modelScores: [Float], exploration: Float
  ) -> ScoreParts {
    Ranker.score(
      projected: projected, labels: labels, modelScores: modelScores, modelWeight: configuration.modelWeight,
      posterior: posterior(of: profile, prior: populationMean), labelAffinities: labelAffinities(for: profile),
      exploration: exploration, strategy: configuration.strategy, random: &random)
  }

  /// Candidates' projected embeddings (from the request, else the catalogue, else
  /// zeros) and labels; remembered so later feedback on them needs no embedding.
  private func features(of candidates: [Weft_V1_Candidate], matrix: [Float]?) -> (projected: [Float], labels: [[String]]) {
    let (embeddingSize, profileSize) = (store.layout.embeddingDimensions, store.layout.profileDimensions)
    let embeddings = matrix ?? {
      var rows = [Float](repeating: 0, count: candidates.count * embeddingSize)
      for (row, candidate) in candidates.enumerated() where !candidate.embedding.isEmpty {
        rows.replaceSubrange(row * embeddingSize..<(row + 1) * embeddingSize, with: candidate.embedding)
      }
      return rows
    }()
    var projected = [Float](repeating: 0, count: candidates.count * profileSize)
    embeddings.withUnsafeBufferPointer { input in
      projected.withUnsafeMutableBufferPointer {
        projection.project(input.baseAddress!, count: candidates.count, into: $0.baseAddress!)
      }
    }
    var labels: [[String]] = []
    labels.reserveCapacity(candidates.count)
    for (row, candidate) in candidates.enumerated() {
      let rows = row * profileSize..<(row + 1) * profileSize
      let known = (matrix == nil && candidate.embedding.isEmpty) || candidate.labels.isEmpty ? catalog.item(candidate.id) : nil
      let hasEmbedding = matrix != nil || !candidate.embedding.isEmpty
      if !hasEmbedding, let known { projected.replaceSubrange(rows, with: known.projected) }
      let itemLabels = candidate.labels.isEmpty ? (known?.labels ?? []) : candidate.labels
      labels.append(itemLabels)
      if hasEmbedding || !candidate.labels.isEmpty {
        remembered.insert(ItemFeatures(projected: Array(projected[rows]), labels: itemLabels), for: candidate.id)
      }
    }
    return (projected, labels)
  }

  private static func scored(
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
