import ArgumentParser
import Foundation
import WeftConfiguration
import WeftModels

/// Which model a worker hosts and its batching: a config file's `workers:` entry, with
/// any flag given over it.
struct ModelOptions: ParsableArguments {
  @Option(help: "Mesh config file (YAML) holding this worker's section (see --worker); flags override it.")
  var config: String?
  @Option(help: "With --config: which entry of its `workers:` list to serve, counting from 0.")
  var worker: Int?
  @Option(help: "The model: \(ModelCatalog.entries.map { "\($0.name) (\($0.summary))" }.joined(separator: ", ")).")
  var model: String?
  @Option(help: "Register under this service name instead of the model's own (echo and sleep only).")
  var service: String?
  @Option(help: "Advertise this model version instead of the model's own.")
  var modelVersion: String?
  @Option(help: "Most requests per batch (default: the model's own).")
  var maxBatchSize: Int?
  @Option(help: "Longest wait in milliseconds for a batch to fill (default: the model's own).")
  var maxBatchDelayMs: Int?
  @Option(help: "sleep model: milliseconds each batch takes (default 10).")
  var latencyMs: Int?
  @Option(help: "Testing: fail this fraction (0 to 1) of requests with INTERNAL, to rehearse a bad version.")
  var injectFailureRate: Double?
  @Option(help: "Where model weights are (default $WEFT_MODELS, else ~/.cache/weft/models; filled by scripts/fetch-models.sh).")
  var models: String?

  func validate() throws {
    guard (config == nil) == (worker == nil) else { throw ValidationError("--config and --worker go together") }
    guard config != nil || model != nil else { throw ValidationError("give --model, or --config and --worker") }
    if let model, ModelCatalog.entry(named: model) == nil {
      throw ValidationError("unknown model '\(model)'; known: \(ModelCatalog.names.joined(separator: ", "))")
    }
    if let maxBatchSize, maxBatchSize < 1 { throw ValidationError("--max-batch-size must be at least 1") }
    if let maxBatchDelayMs, maxBatchDelayMs < 0 { throw ValidationError("--max-batch-delay-ms must not be negative") }
    if let injectFailureRate, !(0...1).contains(injectFailureRate) {
      throw ValidationError("--inject-failure-rate must be between 0 and 1")
    }
  }

  /// The worker's section: the config file's entry (or the defaults), then the flags.
  func section() throws -> WorkerSection {
    var section = try config.map { try MeshFile.load(path: $0).worker(at: worker ?? 0, source: $0) } ?? WorkerSection(model: "")
    if let model { section.model = model }
    if let service { section.settings.service = service }
    if let modelVersion { section.settings.version = modelVersion }
    if let maxBatchSize { section.settings.maxBatchSize = maxBatchSize }
    if let maxBatchDelayMs { section.settings.maxBatchDelay = .milliseconds(maxBatchDelayMs) }
    if let latencyMs { section.settings.latency = .milliseconds(latencyMs) }
    if let injectFailureRate { section.injectFailureRate = injectFailureRate }
    if let models { section.settings.modelsDirectory = models }
    return section
  }
}
