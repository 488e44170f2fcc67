import WeftRecommender
import WeftWorker

/// The `recommender:` section: one `weft recommender` process (its SQLite store has one
/// writer).
public struct RecommenderSection: Sendable, ConfigurationSection {
  /// How it learns, explores, stores and bounds itself.
  public var configuration = RecommenderConfiguration(store: "data/recommender.sqlite")
  /// The version it advertises.
  public var version = RecommenderModel.defaultVersion
  /// How it reaches and heartbeats its gateways; whoever starts it sets `gateways` and `name`.
  public var link = WorkerConfiguration()
  /// `host:port` where it serves its Prometheus metrics; nil: none.
  public var http: String?

  /// A section with every default.
  public init() {}

  public static var defaults: RecommenderSection { RecommenderSection() }

  public static var keys: [ConfigurationKey<RecommenderSection>] {
    [
      .text(
        "store", \.configuration.store,
        "a SQLite file (created if missing, its folder too), or a PostgreSQL URI (postgresql://user@host:port/db) shared by replicas"),
      .integer(
        "embedding_dimensions", \.configuration.layout.embeddingDimensions, 1...65_536,
        "length of the embeddings in requests (384: the text worker's MiniLM)"),
      .integer(
        "profile_dimensions", \.configuration.layout.profileDimensions, 1...256,
        "length of a profile's preference vector; embeddings are projected to it"),
      .choice(
        "durability", \.configuration.durability, "SQLite: full, a commit survives power loss; normal, only the process dying"),
      .number("exploration", \.configuration.exploration, 0...1_000, "default exploration scale; 0 turns it off"),
      .choice("strategy", \.configuration.strategy, "how exploration is drawn"),
      .number(
        "prior_precision", \.configuration.priorPrecision, 1e-6...1e6,
        "observations a profile needs before its own feedback outweighs the population's"),
      .number("model_weight", \.configuration.modelWeight, -1_000...1_000, "weight of the model's score in the final one"),
      .integer("cached_profiles", \.configuration.cachedProfiles, 1...10_000_000, "profiles kept in memory"),
      .integer("max_catalog_items", \.configuration.maxCatalogItems, 1...100_000_000, "most catalogue items (kept in memory)"),
      .integer(
        "remembered_candidates", \.configuration.rememberedCandidates, 1...10_000_000,
        "personalised candidates remembered for feedback by id (their embeddings held: 1.5 kB each at 384 values)"),
      .milliseconds(
        "idempotency_window_ms", \.configuration.idempotencyWindow, 1_000...31_536_000_000,
        "how long an event id is remembered; a retry older than this is applied again"),
      .text("version", \.version, "the version it advertises"),
      .text("http", \.http, absent: "no HTTP", "host:port where it serves its Prometheus metrics (/metrics) and liveness"),
    ] + linkKeys(\.link)
  }
}
