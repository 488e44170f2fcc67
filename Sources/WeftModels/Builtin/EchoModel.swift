import Foundation
import WeftProtocol

/// Returns what it is sent. For tests, benchmarks and checking a mesh end to end.
///
/// Methods: `echo` replies with the request's body frames; `stream` replies with one
/// partial response per body frame, then an empty final one; `chat` (bidirectional)
/// sends each message back as it comes, then an empty final one after the half-close.
/// A `chat` call's metadata `echo-delay-ms` makes each message take that long, to play a
/// worker slower than its client.
public struct EchoModel: StreamingModel {
  /// The `chat` metadata key that slows each message down, in milliseconds.
  public static let delayKey = "echo-delay-ms"

  public let descriptor: ModelDescriptor

  /// Creates an echo model registered under `service`.
  public init(service: String = EchoService.name, version: String = "1") {
    descriptor = ModelDescriptor(
      service: service, version: version,
      methods: EchoService.methods,
      maxBatchSize: 64, runsInline: true)
  }

  public func infer(_ batch: [InferenceRequest], partials: PartialSink) throws -> [InferenceResponse] {
    // Fields are read in place: taking each request whole (as `enumerated()` does) copies
    // all of its header's fields, which cost more than the echo itself.
    batch.indices.map { index in
      switch batch[index].method {
      case EchoService.stream.name:
        for frame in batch[index].body { partials.emit(.ok([frame]), for: index) }
        return .ok([])
      default:
        return .ok(batch[index].body, metadata: batch[index].header.metadata)
      }
    }
  }

  public func openStream(_ request: InferenceRequest) throws(WeftError) -> any ModelStream {
    guard request.method == EchoService.chat.name else {
      throw WeftError(.unimplemented, "echo/\(request.method) is not a streaming method")
    }
    var delay = Duration.zero
    if case .text(let text)? = request.header.metadata[Self.delayKey]?.value {
      guard let milliseconds = Int(text), (0...10_000).contains(milliseconds) else {
        throw WeftError(.invalidArgument, "metadata \(Self.delayKey) must be 0 to 10000 milliseconds; got '\(text)'")
      }
      delay = .milliseconds(milliseconds)
    }
    return ChatStream(delay: delay)
  }

  private final class ChatStream: ModelStream {
    let delay: Duration
    init(delay: Duration) { self.delay = delay }

    func advance(messages: [[Data]], ended: Bool, deadline: ContinuousClock.Instant) throws(WeftError) -> StreamOutput {
      var responses: [InferenceResponse] = []
      for message in messages {
        if delay > .zero { Thread.sleep(forTimeInterval: Double(delay.microseconds) / 1e6) }
        responses.append(.ok(message))
      }
      return StreamOutput(responses: responses, final: ended ? .ok([]) : nil)
    }
  }
}
