import ArgumentParser
import Foundation
import WeftModels

/// Which model a worker hosts, and its batching.
struct ModelOptions: ParsableArguments {
  @Option(help: "The model: \(ModelOptions.known.joined(separator: ", ")).")
  var model: String
  @Option(help: "Register under this service name instead of the model's own.")
  var service: String?
  @Option(help: "Advertise this model version instead of the model's own.")
  var version: String?
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

  static let known = ["echo", "sleep", "text", "vision", "speech"]

  /// The model cache directory.
  var modelsDirectory: String { weftModelsDirectory(models) }

  func validate() throws {
    guard ModelOptions.known.contains(model) else {
      throw ValidationError("unknown model '\(model)'; known: \(ModelOptions.known.joined(separator: ", "))")
    }
    if let maxBatchSize, maxBatchSize < 1 { throw ValidationError("--max-batch-size must be at least 1") }
    guard (0...1).contains(injectFailureRate) else { throw ValidationError("--inject-failure-rate must be between 0 and 1") }
  }

  /// Loads the model (weights included, for real models) so READY means ready.
  func makeModel() throws -> any Model {
    let model = try makeBaseModel()
    return injectFailureRate > 0 ? FaultInjectingModel(wrapping: model, failureRate: injectFailureRate) : model
  }

  private func makeBaseModel() throws -> any Model {
    switch model {
    case "text":
      return try TextEmbeddingModel(
        directory: modelsDirectory + "/minilm-l6-v2", version: version ?? "minilm-l6-v2",
        maxBatchSize: maxBatchSize ?? 32, maxBatchDelay: .milliseconds(maxBatchDelayMs ?? 5))
    case "vision":
      return try ImageClassificationModel(
        directory: modelsDirectory + "/efficientnet-lite0", version: version ?? "efficientnet-lite0",
        maxBatchSize: maxBatchSize ?? 16, maxBatchDelay: .milliseconds(maxBatchDelayMs ?? 5))
    case "speech":
      return try VoiceActivityModel(
        directory: modelsDirectory + "/silero-vad-v6", version: version ?? "silero-vad-v6",
        maxBatchSize: maxBatchSize ?? 8, maxBatchDelay: .milliseconds(maxBatchDelayMs ?? 2))
    case "sleep":
      return SleepModel(
        service: service ?? "sleep", version: version ?? "1", latency: .milliseconds(latencyMs),
        maxBatchSize: maxBatchSize ?? 8, maxBatchDelay: .milliseconds(maxBatchDelayMs ?? 2))
    default:
      return EchoModel(service: service ?? "echo", version: version ?? "1")
    }
  }
}

/// The model cache: `override`, else `$WEFT_MODELS`, else `~/.cache/weft/models`.
func weftModelsDirectory(_ override: String?) -> String {
  override ?? ProcessInfo.processInfo.environment["WEFT_MODELS"] ?? (NSHomeDirectory() + "/.cache/weft/models")
}
