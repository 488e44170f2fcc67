/// How the recommender learns, explores, stores and bounds itself. Every field has a default.
public struct RecommenderConfiguration: Sendable, Equatable {
  /// Where profiles live: a SQLite file's path, or a PostgreSQL URI (`postgresql://…`) that
  /// any number of recommender processes share.
  public var store: String
  /// Embedding length in requests (384 for MiniLM) and the profile space's.
  public var layout: ProfileLayout
  /// Whether a commit survives power loss (`full`) or only the process dying (`normal`).
  public var durability: SQLiteProfileStore.Durability
  /// Default scale of the exploration bonus, in units of the posterior standard
  /// deviation; a request may override it, 0 turns it off.
  public var exploration: Float
  /// How the bonus is drawn.
  public var strategy: ExplorationStrategy
  /// λ, the prior's precision: how many unit-length observations a profile needs before
  /// its own feedback outweighs the population's prior.
  public var priorPrecision: Double
  /// Pseudo-events of the population's label affinity in a user's.
  public var labelPriorEvents: Double
  /// Weight of the model's score in the final one.
  public var modelWeight: Float
  /// Profiles held in memory; the store holds them all.
  public var cachedProfiles: Int
  /// Items remembered from `personalize` calls, so feedback on them needs no embedding.
  public var rememberedCandidates: Int
  /// Most catalogue items (they are kept in memory, projected).
  public var maxCatalogItems: Int
  /// Most labels a profile tracks (the population: 64 times as many).
  public var maxLabelsPerProfile: Int
  /// How long an event id is remembered, so a retry of it is counted once; a retry
  /// older than this is applied again. What the event taught stays in the profile.
  public var idempotencyWindow: Duration

  /// Most candidates, events or items in one call.
  public static let maxItemsPerCall = 10_000
  /// Most labels on one item.
  public static let maxLabelsPerItem = 32
  /// Longest user id, item id, event id or label, in bytes.
  public static let maxIdentifierBytes = 256

  /// Creates a configuration.
  public init(
    store: String, layout: ProfileLayout = ProfileLayout(embeddingDimensions: 384, profileDimensions: 32, projectionSeed: 0x5745_4654),
    durability: SQLiteProfileStore.Durability = .full, exploration: Float = 0.2, strategy: ExplorationStrategy = .thompson,
    priorPrecision: Double = 1, labelPriorEvents: Double = 2, modelWeight: Float = 1, cachedProfiles: Int = 10_000,
    rememberedCandidates: Int = 100_000, maxCatalogItems: Int = 200_000, maxLabelsPerProfile: Int = 512,
    idempotencyWindow: Duration = .seconds(7 * 24 * 3_600)
  ) {
    self.store = store
    self.layout = layout
    self.durability = durability
    self.exploration = exploration
    self.strategy = strategy
    self.priorPrecision = priorPrecision
    self.labelPriorEvents = labelPriorEvents
    self.modelWeight = modelWeight
    self.cachedProfiles = cachedProfiles
    self.rememberedCandidates = rememberedCandidates
    self.maxCatalogItems = maxCatalogItems
    self.maxLabelsPerProfile = maxLabelsPerProfile
    self.idempotencyWindow = idempotencyWindow
  }

  /// Whether `store` names a PostgreSQL database rather than a SQLite file.
  public var storeIsPostgres: Bool { store.hasPrefix("postgresql://") || store.hasPrefix("postgres://") }
}
