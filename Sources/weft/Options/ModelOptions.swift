import ArgumentParser
import Foundation
import WeftModels

/// Which model a worker hosts, and its batching.
struct ModelOptions: ParsableArguments {
  @Option(help: "The model: \(ModelCatalog.entries.map { "\($0.name) (\($0.summary))" }.joined(separator: ", ")).")
  var model: String
  @Option(help: "Register under this service name instead of the model's own (echo and sleep only).")
  var service: String?
  @Option(help: "Advertise this model version instead of the model's own.")
  var modelVersion: String?
  @Option(help: "Most requests per batch (models that batch).")
  var maxBatchSize: Int?
  @Option(help: "Longest wait in milliseconds for a batch to fill.")
  var maxBatchDelayMs: Int?
  @Option(help: "sleep model: milliseconds each batch takes.")
  var latencyMs: Int = 10
  @Option(help: "Testing: fail this fraction (0 to 1) of requests with INTERNAL, to rehearse a bad version.")
  var injectFailureRate: Double = 0
  @Option(help: "Where model weights are (default $WEFT_MODELS, else ~/.cache/weft/models; filled by scripts/fetch-models.sh).")
  var models: String?

  func validate() throws {
    guard let entry = ModelCatalog.entry(named: model) else {
      throw ValidationError("unknown model '\(model)'; known: \(ModelCatalog.names.joined(separator: ", "))")
    }
    if service != nil && !entry.allowsServiceName {
      throw ValidationError("--service renames only built-in models (echo, sleep); \(model) serves its own service")
    }
    if let maxBatchSize, maxBatchSize < 1 { throw ValidationError("--max-batch-size must be at least 1") }
    guard (0...1).contains(injectFailureRate) else { throw ValidationError("--inject-failure-rate must be between 0 and 1") }
  }

  /// Loads the model (weights included, for real models) so READY means ready.
  func makeModel() throws -> any Model {
    let settings = ModelSettings(
      modelsDirectory: ModelCatalog.directory(models), service: service, version: modelVersion, maxBatchSize: maxBatchSize,
      maxBatchDelay: maxBatchDelayMs.map { .milliseconds($0) }, latency: .milliseconds(latencyMs))
    // validate() has checked the name.
    let model = try ModelCatalog.entry(named: model)!.load(settings)
    return injectFailureRate > 0 ? FaultInjectingModel(wrapping: model, failureRate: injectFailureRate) : model
  }
}
