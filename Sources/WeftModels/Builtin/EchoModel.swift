import Foundation
import WeftProtocol

/// Returns what it is sent. For tests, benchmarks and checking a mesh end to end.
///
/// Methods: `echo` replies with the request's body frames; `stream` replies with one
/// partial response per body frame, then an empty final one.
public struct EchoModel: Model {
  public let descriptor: ModelDescriptor

  /// Creates an echo model registered under `service`.
  public init(service: String = EchoService.name, version: String = "1") {
    descriptor = ModelDescriptor(
      service: service, version: version,
      methods: EchoService.methods,
      maxBatchSize: 64, runsInline: true)
  }

  public func infer(_ batch: [InferenceRequest], partials: PartialSink) throws -> [InferenceResponse] {
    batch.enumerated().map { index, request in
      switch request.method {
      case EchoService.stream.name:
        for frame in request.body { partials.emit(.ok([frame]), for: index) }
        return .ok([])
      default:
        return .ok(request.body, metadata: request.header.metadata)
      }
    }
  }
}
