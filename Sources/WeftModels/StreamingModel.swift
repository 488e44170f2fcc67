import Foundation
import WeftProtocol

/// A model that also serves calls that stay open: client-streaming and bidirectional
/// methods, whose client sends any number of messages on one call.
///
/// The worker runtime opens one ``ModelStream`` per call, then runs it in steps on the
/// compute thread: each step hands a stream the messages that arrived since its last
/// step. Steps of open calls of one method are batched: ``advance(_:)`` gets all that are
/// ready at once (the live speech model runs them side by side on the compute lanes).
/// A stream only advances while its client has room for responses (flow control), so a
/// step's output is all that is ever held for a call.
public protocol StreamingModel: Model {
  /// Opens a stream for a new call of a client-streaming method. `request` carries the
  /// call's header and deadline; its body is empty (messages come through `advance`).
  func openStream(_ request: InferenceRequest) throws(WeftError) -> any ModelStream

  /// Runs one step of each stream in `steps` (streams of one method, each at most once);
  /// returns one output per step, in order. The default runs them one after another.
  func advance(_ steps: [StreamStep]) -> [StreamOutput]
}

extension StreamingModel {
  public func advance(_ steps: [StreamStep]) -> [StreamOutput] { steps.map { $0.run() } }
}

/// One open call as its model sees it: the state it keeps between messages.
///
/// The runtime never runs two steps of one stream at the same time, but may run
/// successive steps on different threads, so implementations are `Sendable` by that
/// discipline (`@unchecked`), not by locks.
public protocol ModelStream: AnyObject, Sendable {
  /// Takes the messages that arrived since the last step (each its body frames, in
  /// order); `ended` says the client sent its last one. Returns the responses to send,
  /// and the final one once the call is over (it must be, after `ended`).
  ///
  /// Throwing ends the call with the error's status.
  func advance(messages: [[Data]], ended: Bool, deadline: ContinuousClock.Instant) throws(WeftError) -> StreamOutput
}

/// The work of one stream in one step.
public struct StreamStep: Sendable {
  /// The stream.
  public var stream: any ModelStream
  /// Messages that arrived since its last step, in order.
  public var messages: [[Data]]
  /// The client half-closed: no more messages come.
  public var ended: Bool
  /// When the client stops waiting.
  public var deadline: ContinuousClock.Instant

  /// Creates a step.
  public init(stream: any ModelStream, messages: [[Data]], ended: Bool, deadline: ContinuousClock.Instant) {
    self.stream = stream
    self.messages = messages
    self.ended = ended
    self.deadline = deadline
  }

  /// Runs the step on its stream; an error becomes the call's final response.
  public func run() -> StreamOutput {
    do {
      return try stream.advance(messages: messages, ended: ended, deadline: deadline)
    } catch {
      return StreamOutput(responses: [], final: .failure(error))
    }
  }
}

/// What one step of a stream produced.
public struct StreamOutput: Sendable {
  /// Responses to send now, in order (PARTIAL on the wire).
  public var responses: [InferenceResponse]
  /// The call's last response, once it is over; nil while it goes on.
  public var final: InferenceResponse?

  /// Creates an output.
  public init(responses: [InferenceResponse] = [], final: InferenceResponse? = nil) {
    self.responses = responses
    self.final = final
  }
}
