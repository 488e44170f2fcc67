import Foundation
import SwiftProtobuf
import Synchronization
import WeftProtocol

/// A call that stays open: a client-streaming or bidirectional method. Send messages with
/// ``send(_:)`` (it waits while the worker has granted no room), end them with
/// ``closeSend()``, and read ``responses`` until the final one.
///
/// Flow control runs both ways: ``send(_:)`` suspends once the window the worker granted
/// is used up (8 messages at first, one more for each it has taken), and the worker sends
/// only as many responses as the reader of ``responses`` has room for (the window asked for
/// at the start, refilled as responses are read). A call is never sent again to another
/// worker or gateway: its messages went to the first.
public final class StreamingCall: Sendable {
  /// The call's responses; the sequence ends after the final one or throws ``WeftError``.
  public let responses: Responses
  private let id: UInt64
  private let io: ClientIO
  private let window: SendWindow

  init(id: UInt64, io: ClientIO, responses: AsyncThrowingStream<Response, any Error>, window: SendWindow, responseWindow: Int) {
    self.id = id
    self.io = io
    self.window = window
    self.responses = Responses(stream: responses, id: id, io: io, window: responseWindow)
  }

  /// Sends one message (its body frames), waiting for room in the window.
  ///
  /// - Throws: the call's error once it has ended, or `CancellationError` if the task was
  ///   cancelled while waiting (the call is then cancelled).
  public func send(_ message: [Data]) async throws {
    try await window.acquire(onCancel: { [self] in cancel() })
    io.follow(id: id, frames: Self.frames(id: id, .message) + message.map { [UInt8]($0) })
  }

  /// Sends one protobuf message as the body frame.
  public func send(_ message: some SwiftProtobuf.Message) async throws {
    try await send([try message.serializedData()])
  }

  /// Tells the worker no more messages come; responses keep arriving.
  public func closeSend() {
    io.follow(id: id, frames: Self.frames(id: id, .halfClose))
  }

  /// Ends the call with `CANCELLED` at both ends.
  public func cancel() {
    io.cancel(id: id)
    window.end(WeftError(.cancelled, "cancelled by the caller"))
  }

  static func frames(id: UInt64, _ frame: CallFrame, credit: UInt32 = 0) -> [[UInt8]] {
    var header = RequestHeader()
    header.requestID = id
    header.frame = frame
    header.credit = credit
    return [Signature.client, (try? header.serializedBytes()) ?? []]
  }

  /// The responses of a call; reading them grants the worker room for more.
  public struct Responses: AsyncSequence, Sendable {
    /// One response of the call.
    public typealias Element = Response
    let stream: AsyncThrowingStream<Response, any Error>
    let id: UInt64
    let io: ClientIO
    let window: Int

    /// An iterator over the responses; iterate once per call.
    public func makeAsyncIterator() -> Iterator {
      Iterator(base: stream.makeAsyncIterator(), id: id, io: io, grantEvery: Swift.max(1, window / 2))
    }

    /// Reads responses and grants credit for them, half a window at a time.
    public struct Iterator: AsyncIteratorProtocol {
      var base: AsyncThrowingStream<Response, any Error>.Iterator
      let id: UInt64
      let io: ClientIO
      let grantEvery: Int
      var read = 0

      /// The next response, nil after the final one; throws the call's error.
      public mutating func next() async throws -> Response? {
        guard let response = try await base.next() else { return nil }
        read += 1
        if read >= grantEvery && !response.isFinal {
          io.follow(id: id, frames: StreamingCall.frames(id: id, .credit, credit: UInt32(read)))
          read = 0
        }
        return response
      }
    }
  }
}

/// The messages a client may still send on a call, and the senders waiting for room.
final class SendWindow: Sendable {
  private struct State {
    var credit = CallWindow.initialMessages
    var waiting: [CheckedContinuation<Void, any Error>] = []
    var ended: (any Error)?
  }
  private let state = Mutex(State())

  /// Takes one message's room, waiting for a grant if there is none.
  func acquire(onCancel: @escaping @Sendable () -> Void) async throws {
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        let outcome: Result<Void, any Error>? = state.withLock { state in
          if let ended = state.ended { return .failure(ended) }
          if Task.isCancelled { return .failure(CancellationError()) }
          guard state.credit > 0 else {
            state.waiting.append(continuation)
            return nil
          }
          state.credit -= 1
          return .success(())
        }
        if let outcome { continuation.resume(with: outcome) }
      }
    } onCancel: {
      end(CancellationError())
      onCancel()
    }
  }

  /// The worker granted `count` more messages: wakes that many waiting senders.
  func grant(_ count: Int) {
    let woken: [CheckedContinuation<Void, any Error>] = state.withLock { state in
      state.credit += count
      let woken = Array(state.waiting.prefix(state.credit))
      state.waiting.removeFirst(woken.count)
      state.credit -= woken.count
      return woken
    }
    for continuation in woken { continuation.resume() }
  }

  /// The call ended: waiting and later senders fail with `error`.
  func end(_ error: any Error) {
    let woken: [CheckedContinuation<Void, any Error>] = state.withLock { state in
      if state.ended == nil { state.ended = error }
      defer { state.waiting.removeAll() }
      return state.waiting
    }
    for continuation in woken { continuation.resume(throwing: error) }
  }
}

extension WeftClient {
  /// Opens a call of a client-streaming or bidirectional method.
  ///
  /// - Parameter responseWindow: responses the worker may send before this client reads
  ///   them (1 to 1,024); reading grants more.
  public func openCall(
    _ service: String, _ method: String, options: CallOptions = CallOptions(), responseWindow: Int = CallWindow.defaultResponses
  ) throws -> StreamingCall {
    let id = nextCallID()
    let window = min(max(1, responseWindow), CallWindow.maxResponses)
    var header = try RequestHeader(serializedBytes: Self.encodeHeader(id: id, service: service, method: method, options: options))
    header.idempotent = false
    header.credit = UInt32(window)
    let frames = [Signature.client, try header.serializedBytes()]
    let sendWindow = SendWindow()
    let stream = AsyncThrowingStream<Response, any Error> { continuation in
      io.submit(id: id, frames: frames, timeout: options.timeout, idempotent: false) { result in
        switch result {
        case .success(let response) where response.header.flowControl:
          sendWindow.grant(Int(response.header.credit))
          return false
        case .success(let response):
          if let error = WeftError(header: response.header) {
            sendWindow.end(error)
            continuation.finish(throwing: error)
            return true
          }
          continuation.yield(response)
          if response.isFinal {
            sendWindow.end(WeftError(.failedPrecondition, "the call has ended"))
            continuation.finish()
          }
          return response.isFinal
        case .failure(let error):
          sendWindow.end(error)
          continuation.finish(throwing: error)
          return true
        }
      }
    }
    return StreamingCall(id: id, io: io, responses: stream, window: sendWindow, responseWindow: window)
  }

  /// A call that stays open, fed from `messages` (each element one message's body
  /// frames) and half-closed when they end: its responses as they come. An error while
  /// reading `messages`, or stopping the iteration of the result, cancels the call.
  public func streamingCall<Messages: AsyncSequence & Sendable>(
    _ service: String, _ method: String, messages: Messages, options: CallOptions = CallOptions()
  ) throws -> StreamingCall.Responses where Messages.Element == [Data] {
    let call = try openCall(service, method, options: options)
    Task {
      do {
        for try await message in messages { try await call.send(message) }
        call.closeSend()
      } catch {
        call.cancel()
      }
    }
    return call.responses
  }
}
