import ArgumentParser
import WeftProcess
import Foundation
import Logging
import WeftModels
import WeftRecommender
import WeftWorker

/// `weft recommender`: the recommender service, registered with the gateways like a worker.
struct RecommenderCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "recommender",
    abstract: "Serve per-user profiles: personalise, feedback, recommend (service `recommender`).",
    discussion: """
      Profiles, feedback events and the catalogue live in one SQLite file (WAL). Feedback
      is acknowledged once committed; with --durability full (the default) a commit
      survives power loss, with normal only the process dying.
      """)

  @Option(help: "The SQLite file (created if missing; its directory too).")
  var store: String = "data/recommender.sqlite"
  @Option(help: "Length of the embeddings in requests (384: the text worker's MiniLM).")
  var embeddingDimensions: Int = 384
  @Option(help: "Length of a profile's preference vector; embeddings are projected to it.")
  var profileDimensions: Int = 32
  @Option(help: "full: a commit survives power loss; normal: only the process dying (faster).")
  var durability: SQLiteProfileStore.Durability = .full
  @Option(help: "Default exploration scale (posterior standard deviations); 0 turns it off.")
  var exploration: Float = 0.2
  @Option(help: "How exploration is drawn: thompson or ucb.")
  var strategy: ExplorationStrategy = .thompson
  @Option(help: "Prior precision: observations a profile needs before its own feedback outweighs the population's.")
  var priorPrecision: Double = 1
  @Option(help: "Weight of the model's score in the final one.")
  var modelWeight: Float = 1
  @Option(help: "Most catalogue items (kept in memory, projected).")
  var maxCatalogItems: Int = 200_000
  @Option(help: "Profiles cached in memory.")
  var cachedProfiles: Int = 10_000
  @Option(help: "Advertise this model version.")
  var modelVersion: String = "bayes-linear-1"
  @OptionGroup var link: WorkerLinkOptions
  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    guard (1...65_536).contains(embeddingDimensions) else { throw ValidationError("--embedding-dimensions must be 1 to 65536") }
    guard (1...256).contains(profileDimensions) else { throw ValidationError("--profile-dimensions must be 1 to 256") }
    guard exploration.isFinite, exploration >= 0 else { throw ValidationError("--exploration must be 0 or more") }
    guard priorPrecision.isFinite, priorPrecision > 0 else { throw ValidationError("--prior-precision must be positive") }
    guard modelWeight.isFinite else { throw ValidationError("--model-weight must be a number") }
    guard maxCatalogItems > 0, cachedProfiles > 0 else { throw ValidationError("limits must be positive") }
  }

  func run() async throws {
    let logger = logging.bootstrap(label: "weft.recommender")
    exitWithParentIfSupervised()
    // Its matrices are small (100 × 384 candidates); OpenBLAS's thread pool only adds
    // wake-ups and yields around them, and the compute thread is the only caller.
    Gemm.setThreads(1)
    let directory = URL(fileURLWithPath: store).deletingLastPathComponent()
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let settings = RecommenderConfiguration(
      storePath: store,
      layout: ProfileLayout(
        embeddingDimensions: embeddingDimensions, profileDimensions: profileDimensions, projectionSeed: 0x5745_4654),
      durability: durability, exploration: exploration, strategy: strategy, priorPrecision: priorPrecision,
      modelWeight: modelWeight, cachedProfiles: cachedProfiles, maxCatalogItems: maxCatalogItems)
    let model = RecommenderModel(try Recommender(configuration: settings), version: modelVersion)
    let configuration = link.configuration
    let runtime = try WorkerRuntime(model: model, configuration: configuration, logger: logger) {
      announce("recommender ready store=\(store) version=\(modelVersion) name=\(configuration.name)")
    }
    try await runUntilSignalled(runtime, logger: logger)
  }
}

extension SQLiteProfileStore.Durability: ExpressibleByArgument {}
extension ExplorationStrategy: ExpressibleByArgument {}
