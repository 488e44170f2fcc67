import ArgumentParser
import Foundation
import Logging
import WeftConfiguration
import WeftHTTP
import WeftModels
import WeftProcess
import WeftRecommender
import WeftWorker

/// `weft recommender`: the recommender service, registered with the gateways like a worker.
struct RecommenderCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "recommender",
    abstract: "Serve per-user profiles: personalise, feedback, recommend (service `recommender`).",
    discussion: """
      Profiles, feedback events and the catalogue live in one SQLite file (WAL), or in a \
      PostgreSQL database that any number of recommender processes share (--store \
      postgresql://user@host:port/db). Feedback is acknowledged once committed; with SQLite \
      and --durability full (the default) a commit survives power loss, with normal only \
      the process dying. Settings come from the \
      config file's `recommender:` section (docs/CONFIGURATION.md), each flag given \
      replacing its value.
      """)

  @Option(help: "Mesh config file (YAML); its `recommender:` section is used. Flags override it.")
  var config: String?
  @Option(help: "host:port to serve the recommender's Prometheus metrics (/metrics) on (port 0: any free one).")
  var http: String?
  @Option(
    help: "A SQLite file (created if missing; its directory too), or a PostgreSQL URI (postgresql://…). Default data/recommender.sqlite.")
  var store: String?
  @Option(help: "Length of the embeddings in requests (default 384: the text worker's MiniLM).")
  var embeddingDimensions: Int?
  @Option(help: "Length of a profile's preference vector; embeddings are projected to it (default 32).")
  var profileDimensions: Int?
  @Option(help: "SQLite only. full: a commit survives power loss (default); normal: only the process dying (faster).")
  var durability: SQLiteProfileStore.Durability?
  @Option(help: "Default exploration scale (posterior standard deviations); 0 turns it off (default 0.2).")
  var exploration: Float?
  @Option(help: "How exploration is drawn: thompson (default) or ucb.")
  var strategy: ExplorationStrategy?
  @Option(help: "Prior precision: observations a profile needs before its own feedback outweighs the population's (default 1).")
  var priorPrecision: Double?
  @Option(help: "Weight of the model's score in the final one (default 1).")
  var modelWeight: Float?
  @Option(help: "Most catalogue items, kept in memory, projected (default 200000).")
  var maxCatalogItems: Int?
  @Option(help: "Profiles cached in memory (default 10000).")
  var cachedProfiles: Int?
  @Option(help: "Advertise this model version (default \(RecommenderModel.defaultVersion)).")
  var modelVersion: String?
  @OptionGroup var link: WorkerLinkOptions
  @OptionGroup var readiness: ReadinessOptions
  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    if let embeddingDimensions, !(1...65_536).contains(embeddingDimensions) {
      throw ValidationError("--embedding-dimensions must be 1 to 65536")
    }
    if let profileDimensions, !(1...256).contains(profileDimensions) { throw ValidationError("--profile-dimensions must be 1 to 256") }
    if let exploration, !exploration.isFinite || exploration < 0 { throw ValidationError("--exploration must be 0 or more") }
    if let priorPrecision, !priorPrecision.isFinite || priorPrecision <= 0 { throw ValidationError("--prior-precision must be positive") }
    if let modelWeight, !modelWeight.isFinite { throw ValidationError("--model-weight must be a number") }
    if let maxCatalogItems, maxCatalogItems <= 0 { throw ValidationError("--max-catalog-items must be positive") }
    if let cachedProfiles, cachedProfiles <= 0 { throw ValidationError("--cached-profiles must be positive") }
  }

  /// The config file's section (or the defaults), then the flags over it.
  func section() throws -> RecommenderSection {
    var section = try config.map { try MeshFile.load(path: $0).recommender ?? RecommenderSection() } ?? RecommenderSection()
    var settings = section.configuration
    if let store { settings.store = store }
    if let embeddingDimensions { settings.layout.embeddingDimensions = embeddingDimensions }
    if let profileDimensions { settings.layout.profileDimensions = profileDimensions }
    if let durability { settings.durability = durability }
    if let exploration { settings.exploration = exploration }
    if let strategy { settings.strategy = strategy }
    if let priorPrecision { settings.priorPrecision = priorPrecision }
    if let modelWeight { settings.modelWeight = modelWeight }
    if let maxCatalogItems { settings.maxCatalogItems = maxCatalogItems }
    if let cachedProfiles { settings.cachedProfiles = cachedProfiles }
    section.configuration = settings
    if let modelVersion { section.version = modelVersion }
    try link.apply(to: &section.link)
    return section
  }

  func run() async throws {
    let logger = logging.bootstrap(label: "weft.recommender")
    exitWithParentIfSupervised()
    // Its matrices are small (100 × 384 candidates); OpenBLAS's thread pool only adds
    // wake-ups and yields around them, and the compute thread is the only caller.
    Gemm.setThreads(1)
    let section = try section()
    let http = http ?? section.http
    // Before the recommender is made: its metrics are created with it.
    if http != nil { MetricsEndpoint.bootstrapMetrics() }
    let store = section.configuration.storeIsPostgres ? PostgresProfileStore.redacted(section.configuration.store) : section.configuration.store
    if !section.configuration.storeIsPostgres {
      let directory = URL(fileURLWithPath: store).deletingLastPathComponent()
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }
    let model = RecommenderModel(try Recommender(configuration: section.configuration), version: section.version)
    let configuration = section.link
    let runtime = try WorkerRuntime(model: model, configuration: configuration, logger: logger) {
      readiness.markReady()
      announce("recommender ready store=\(store) version=\(section.version) name=\(configuration.name)")
    } onDrain: {
      readiness.markNotReady()
    }
    defer { readiness.markNotReady() }
    guard let http else { return try await runUntilSignalled(runtime, logger: logger) }
    let endpoint = try MetricsEndpoint(address: http, logger: logger) { listening in announce("recommender http listening address=\(listening)") }
    try await runUntilSignalled(runtime, endpoint, logger: logger)
  }
}

extension SQLiteProfileStore.Durability: ExpressibleByArgument {}
extension ExplorationStrategy: ExpressibleByArgument {}
