import DequeModule
import Foundation
import Logging
import Synchronization
import WeftProtocol
import ZeroMQ

/// The client's I/O thread and the queue that feeds it.
///
/// Callers append to `inbox` and signal; the thread sends, matches replies to calls by
/// request id, and fails calls whose deadline passed with no reply (the gateway normally
/// answers first; this covers a gateway that is gone).
final class ClientIO: Sendable {
  /// Gets each response or the error ending the call; returns true when the call is done.
  typealias Handler = @Sendable (Result<Response, WeftError>) -> Bool

  private enum Command: Sendable {
    case call(id: UInt64, frames: [[UInt8]], deadline: UInt64, handler: Handler)
    case cancel(id: UInt64)
  }

  private struct State {
    var commands: [Command] = []
    var closed = false
  }

  private let state = Mutex(State())
  private let wake: WakeSignal
  private let finished = DispatchSemaphore(value: 0)
  /// Extra time past the deadline for the gateway's own DEADLINE_EXCEEDED to arrive.
  private static let grace: UInt64 = 250_000

  init(gateways: [String], curve: CurveClientCredentials?, context: Context?, logger: Logger) throws {
    wake = try WakeSignal()
    let context = try context ?? Context()
    let socket = try Socket(context: context, type: .dealer)
    if let curve { try socket.makeCurveClient(curve) }
    try socket.setImmediate(true)
    try socket.setSendHighWaterMark(0)
    try socket.setReceiveHighWaterMark(0)
    for gateway in gateways { try socket.connect(gateway) }
    let sendable = UnsafeTransfer(socket)
    let thread = Thread { [self] in
      run(socket: sendable.value, logger: logger)
      finished.signal()
    }
    thread.name = "weft-client"
    thread.start()
  }

  func submit(id: UInt64, frames: [[UInt8]], timeout: Duration, handler: @escaping Handler) {
    let deadline = MonotonicClock.now() &+ UInt64(max(0, timeout.components.seconds)) * 1_000_000
      &+ UInt64(max(0, timeout.components.attoseconds) / 1_000_000_000_000)
    let accepted = state.withLock { state -> Bool in
      guard !state.closed else { return false }
      state.commands.append(.call(id: id, frames: frames, deadline: deadline, handler: handler))
      return true
    }
    if accepted { wake.signal() } else { _ = handler(.failure(WeftError(.cancelled, "client is closed"))) }
  }

  func cancel(id: UInt64) {
    state.withLock { $0.commands.append(.cancel(id: id)) }
    wake.signal()
  }

  func close() {
    let first = state.withLock { state -> Bool in
      defer { state.closed = true }
      return !state.closed
    }
    guard first else { return }
    wake.signal()
    finished.wait()
  }

  private func run(socket: Socket, logger: Logger) {
    var pending: [UInt64: (deadline: UInt64, handler: Handler)] = [:]
    var deadlines = DeadlineQueue()
    // Requests not yet handed to libzmq: no gateway is connected yet (ZMQ_IMMEDIATE).
    var unsent: Deque<(id: UInt64, frames: [[UInt8]])> = []
    let received = Frames(capacity: 8)
    var poller = Poller()
    guard let socketIndex = try? poller.add(socket) else { return }
    let wakeIndex = poller.add(fileDescriptor: wake.fileDescriptor)

    func fail(_ id: UInt64, _ error: WeftError) {
      if let call = pending.removeValue(forKey: id) { _ = call.handler(.failure(error)) }
    }

    while true {
      let now = MonotonicClock.now()
      let next = deadlines.nextDeadline
      let timeout = next.map { $0 > now ? Int(($0 - now + 999) / 1_000) : 0 } ?? 1_000
      // While requests wait for a connection, look again every 10 ms.
      _ = try? poller.wait(timeoutMilliseconds: min(timeout, unsent.isEmpty ? 1_000 : 10))

      if poller.isReadable(wakeIndex) {
        wake.drain()
        let (commands, closed) = state.withLock { state in
          defer { state.commands.removeAll() }
          return (state.commands, state.closed)
        }
        for command in commands {
          switch command {
          case .call(let id, let frames, let deadline, let handler):
            pending[id] = (deadline, handler)
            deadlines.insert(id: id, deadline: deadline &+ Self.grace)
            unsent.append((id, frames))
          case .cancel(let id):
            fail(id, WeftError(.cancelled, "cancelled by the caller"))
          }
        }
        if closed {
          for id in Array(pending.keys) { fail(id, WeftError(.cancelled, "client closed")) }
          return
        }
      }

      while let (id, frames) = unsent.first {
        guard pending[id] != nil else {
          unsent.removeFirst()  // cancelled or timed out before it could be sent
          continue
        }
        do {
          // Only the first frame can meet EAGAIN; the rest of a message then always goes.
          try socket.send(frames[0], more: frames.count > 1, wait: false)
          for index in 1..<frames.count { try socket.send(frames[index], more: index < frames.count - 1) }
          unsent.removeFirst()
        } catch let error as ZMQError where error.isWouldBlock {
          break
        } catch {
          unsent.removeFirst()
          fail(id, WeftError(.unavailable, "could not send: \(error)"))
        }
      }

      if poller.isReadable(socketIndex) {
        while (try? socket.receive(into: received, wait: false)) == true {
          guard received.count >= 2, Signature.check(received[0], expected: Signature.client) == .valid,
            let header = try? ResponseHeader(borrowing: received[1])
          else {
            logger.warning("malformed reply from gateway", metadata: ["frames": "\(received.count)"])
            continue
          }
          guard let call = pending[header.requestID] else { continue }  // cancelled or timed out
          let body = (2..<received.count).map { received.data(at: $0) }
          if call.handler(.success(Response(header: header, body: body))) {
            pending.removeValue(forKey: header.requestID)
          }
        }
      }

      let after = MonotonicClock.now()
      while let (_, id) = deadlines.popExpired(at: after) {
        fail(id, WeftError(.deadlineExceeded, "no reply from the gateway before the deadline"))
      }
      if deadlines.count > 2 * pending.count + 1_024 { deadlines.compact { pending[$0] != nil } }
    }
  }
}

/// Moves a non-Sendable value into the one thread that will own it from then on.
struct UnsafeTransfer<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
