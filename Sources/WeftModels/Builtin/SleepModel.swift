import Foundation
import WeftProtocol

/// Takes a set time per batch, like a model whose cost does not grow with batch size
/// (the common case on wide hardware). For tests and benchmarks of scheduling,
/// batching, deadlines and draining.
///
/// Method `sleep`: waits `latency` (or the milliseconds in the request's metadata
/// `sleep_ms`, the longest in the batch), then replies with its body unchanged.
public struct SleepModel: Model {
  public let descriptor: ModelDescriptor
  /// Time one batch takes.
  public let latency: Duration
  /// The request metadata key that asks for a longer sleep, in milliseconds.
  public static let sleepMetadataKey = "sleep_ms"

  /// Creates a sleep model.
  public init(
    service: String = SleepService.name, version: String = "1", latency: Duration = .milliseconds(10),
    maxBatchSize: Int = 8, maxBatchDelay: Duration = .milliseconds(2)
  ) {
    self.latency = latency
    descriptor = ModelDescriptor(
      service: service, version: version,
      methods: SleepService.methods,
      maxBatchSize: maxBatchSize, maxBatchDelay: maxBatchDelay)
  }

  public func infer(_ batch: [InferenceRequest], partials: PartialSink) throws -> [InferenceResponse] {
    var wait = latency
    for request in batch {
      if case .text(let text)? = request.header.metadata[Self.sleepMetadataKey]?.value, let ms = Int(text) {
        wait = max(wait, .milliseconds(ms))
      }
    }
    Thread.sleep(forTimeInterval: Double(wait.components.seconds) + Double(wait.components.attoseconds) * 1e-18)
    return batch.map { .ok($0.body) }
  }
}
