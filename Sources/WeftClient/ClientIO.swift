import DequeModule
import Foundation
import Logging
import SwiftProtobuf
import Synchronization
import WeftProtocol
import ZeroMQ

/// The client's I/O thread and the queue that feeds it.
///
/// Callers append to `inbox` and signal; the thread sends, matches replies to calls by
/// request id, and fails calls whose deadline passed with no reply (the gateway normally
/// answers first; this covers a gateway that is gone). The small calls it finds ready in
/// one turn go to a gateway that reads packs as one packed message (``CallPacking``).
///
/// Each gateway has its own socket, with ZMTP heartbeats and a monitor, so the thread
/// knows which gateways are live and which calls each one holds. When a gateway's
/// connection is lost (closed, or silent for ``heartbeatTimeoutMilliseconds``), its
/// idempotent calls go again through a live gateway, within their deadline, and the
/// others end at once with `UNAVAILABLE`. New calls go round-robin over live gateways
/// only. A gateway answering an idempotent call `UNAVAILABLE` (say, restarted and not yet
/// rejoined by its workers) has the call tried once on each other live gateway.
final class ClientIO: Sendable {
  /// Gets each response or the error ending the call; returns true when the call is done.
  typealias Handler = @Sendable (Result<Response, WeftError>) -> Bool

  /// A PING goes to a gateway after this long without traffic…
  static let heartbeatIntervalMilliseconds = 200
  /// …and its connection counts as lost when nothing came back for this long.
  static let heartbeatTimeoutMilliseconds = 600
  /// A connect attempt to a host that drops packets is given up after this long and
  /// retried, so a gateway that comes back is found again quickly.
  static let connectTimeoutMilliseconds = 1_000

  private enum Command: Sendable {
    case call(id: UInt64, frames: [[UInt8]], deadline: UInt64, idempotent: Bool, handler: Handler)
    case cancel(id: UInt64)
    case follow(id: UInt64, frames: [[UInt8]])
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
  private static let monitorsMade = Atomic<Int>(0)

  init(gateways: [String], curve: CurveClientCredentials?, context: Context?, logger: Logger) throws {
    wake = try WakeSignal()
    let context = try context ?? Context()
    let links = try gateways.map { try GatewayLink(endpoint: $0, curve: curve, context: context) }
    let sendable = UnsafeTransfer(links)
    Thread.start(named: "weft-client") { [self] in
      run(links: sendable.value, logger: logger)
      finished.signal()
    }
  }

  func submit(id: UInt64, frames: [[UInt8]], timeout: Duration, idempotent: Bool, handler: @escaping Handler) {
    let deadline = MonotonicClock.now() &+ UInt64(max(0, timeout.components.seconds)) * 1_000_000
      &+ UInt64(max(0, timeout.components.attoseconds) / 1_000_000_000_000)
    let accepted = state.withLock { state -> Bool in
      guard !state.closed else { return false }
      state.commands.append(.call(id: id, frames: frames, deadline: deadline, idempotent: idempotent, handler: handler))
      return true
    }
    if accepted { wake.signal() } else { _ = handler(.failure(WeftError(.cancelled, "client is closed"))) }
  }

  /// Ends call `id` with `CANCELLED` and tells the gateway holding it, which cancels it
  /// in its queue or at its worker.
  func cancel(id: UInt64) {
    state.withLock { $0.commands.append(.cancel(id: id)) }
    wake.signal()
  }

  /// Sends `frames` (a MESSAGE, HALF_CLOSE or CREDIT) on open call `id`, after its OPEN
  /// and what came before; dropped if the call has ended.
  func follow(id: UInt64, frames: [[UInt8]]) {
    state.withLock { $0.commands.append(.follow(id: id, frames: frames)) }
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

  /// One gateway: its socket, whether its connection is up, and its events.
  private final class GatewayLink {
    let endpoint: String
    let socket: Socket
    /// Nil in-process, where a connection cannot be lost.
    let monitor: SocketMonitor?
    var isLive: Bool
    /// Whether this connection's gateway reads packed calls, and this turn's pack.
    var packing = CallPacking()

    init(endpoint: String, curve: CurveClientCredentials?, context: Context) throws {
      self.endpoint = endpoint
      socket = try Socket(context: context, type: .dealer)
      if let curve { try socket.makeCurveClient(curve) }
      try socket.setImmediate(true)
      try socket.setSendHighWaterMark(0)
      try socket.setReceiveHighWaterMark(0)
      let inProcess = endpoint.hasPrefix("inproc://")
      if inProcess {
        monitor = nil
      } else {
        try socket.setHeartbeat(intervalMilliseconds: heartbeatIntervalMilliseconds, timeoutMilliseconds: heartbeatTimeoutMilliseconds)
        try socket.setConnectTimeout(connectTimeoutMilliseconds)
        let serial = ClientIO.monitorsMade.add(1, ordering: .relaxed).oldValue
        monitor = try SocketMonitor(watching: socket, context: context, name: "weft-client-monitor-\(getpid())-\(serial)")
      }
      isLive = inProcess
      try socket.connect(endpoint)
    }
  }

  /// A call the thread holds until its final response.
  private struct Call {
    let deadline: UInt64
    let handler: Handler
    let frames: [[UInt8]]
    let idempotent: Bool
    /// The gateway it was last sent to; nil while it waits to be sent.
    var link: Int?
    /// The gateways it was sent to, one bit each.
    var tried: UInt64 = 0
    /// A partial response reached the caller, so the call can no longer start again.
    var streamed = false
    /// Frames for the open call that wait for its OPEN to be sent.
    var followUps: [[[UInt8]]] = []
  }

  private func run(links: [GatewayLink], logger: Logger) {
    var calls: [UInt64: Call] = [:]
    var deadlines = DeadlineQueue()
    // Calls waiting for a live gateway, in the order they go.
    var unsent: Deque<UInt64> = []
    var nextLink = 0
    let received = Frames(capacity: 8)
    var poller = Poller()
    var socketIndexes: [Int] = []
    var monitorIndexes: [Int?] = []
    for link in links {
      guard let index = try? poller.add(link.socket) else { return }
      socketIndexes.append(index)
      monitorIndexes.append(link.monitor.flatMap { try? poller.add($0.socket) })
    }
    let wakeIndex = poller.add(fileDescriptor: wake.fileDescriptor)

    func fail(_ id: UInt64, _ error: WeftError) {
      if let call = calls.removeValue(forKey: id) { _ = call.handler(.failure(error)) }
    }

    func bit(_ link: Int) -> UInt64 { 1 << UInt64(link) }  // at most 64 gateways (WeftClient.init)

    /// Sends `call` to a live gateway, untried ones first; false if none took it now.
    func send(_ id: UInt64, _ call: inout Call) -> Bool {
      for untriedOnly in [true, false] {
        for step in 0..<links.count {
          let index = (nextLink + step) % links.count
          let link = links[index]
          guard link.isLive, !untriedOnly || call.tried & bit(index) == 0 else { continue }
          // A call waiting for its messages' turn goes plain, so they follow it in order.
          // A full pack leaves the rest of the turn's calls plain (calls keep no order among themselves).
          let packable = call.followUps.isEmpty && !link.packing.isFull && CallPacking.isPackable(call.frames)
          switch (packable, link.packing.support) {
          case (true, .reads):
            // Sent with the turn's other calls (``flushPacks()``).
            link.packing.add(id, frames: call.frames)
          case (true, .unknown):
            do {
              try CallPacking.sendAlone(call.frames, on: link.socket)
            } catch {
              continue
            }
            link.packing.support = .probing(id)
          default:
            do {
              try Self.sendPlain(call.frames, on: link.socket)
            } catch {
              continue  // not connected after all (EAGAIN), or closing: try the next one
            }
          }
          nextLink = (index + 1) % links.count
          call.link = index
          call.tried |= bit(index)
          for frames in call.followUps { Self.send(frames, on: link.socket) }
          call.followUps.removeAll()
          return true
        }
      }
      return false
    }

    /// Sends each gateway's pack of this turn; calls of a pack that could not go (the
    /// connection is not up after all) wait to be sent again, first.
    func flushPacks() {
      for (index, link) in links.enumerated() where !link.packing.ids.isEmpty {
        let ids: [UInt64]
        let sent: Bool
        if link.packing.ids.count == 1, let frames = calls[link.packing.ids[0]]?.frames {
          // A lone call goes plain: a pack of one saves nothing and costs the gateway a copy.
          ids = link.packing.ids
          link.packing.discard()
          sent = (try? Self.sendPlain(frames, on: link.socket)) != nil
        } else {
          (ids, sent) = link.packing.send(on: link.socket)
        }
        guard !sent else { continue }
        for id in ids.reversed() { sendAgain(id, unreadBy: index) }
      }
    }

    /// Puts call `id`, which gateway `index` did not read, first in line to be sent again
    /// (that gateway still a candidate).
    func sendAgain(_ id: UInt64, unreadBy index: Int) {
      calls[id]?.link = nil
      calls[id]?.tried &= ~bit(index)
      unsent.prepend(id)
    }

    /// Hands every reply queued on gateway `index` to its call.
    func readReplies(_ index: Int) {
      let link = links[index]
      while (try? link.socket.receive(into: received, wait: false)) == true {
        if received.count == 2, Signature.check(received[0], expected: Signature.clientPacked) == .valid,
          (try? FramePack.validate(received[1], maxFrames: CallPacking.maxFramesPerCall)) != nil
        {
          link.packing.support = .reads
          FramePack.forEachMessage(in: received[1]) { message in
            var frames = message.makeIterator()
            guard let first = frames.next(), let header = try? ResponseHeader(borrowing: first) else {
              return logger.warning("malformed reply in a pack from gateway", metadata: ["gateway": "\(link.endpoint)"])
            }
            deliver(header, from: index) {
              var body: [Data] = []
              while let frame = frames.next() { body.append(Data(frame)) }
              return body
            }
          }
          continue
        }
        guard received.count >= 2, Signature.check(received[0], expected: Signature.client) == .valid,
          let header = try? ResponseHeader(borrowing: received[1])
        else {
          logger.warning("malformed reply from gateway", metadata: ["gateway": "\(link.endpoint)", "frames": "\(received.count)"])
          continue
        }
        deliver(header, from: index) { (2..<received.count).map { received.data(at: $0) } }
      }
    }

    /// Hands a reply from gateway `index` to its call; `body` makes its body frames.
    func deliver(_ header: ResponseHeader, from index: Int, body: () -> [Data]) {
      let status = StatusCode(wireValue: header.status)
      if case .probing(let probe) = links[index].packing.support {
        if header.requestID == probe {
          links[index].packing.support = .reads
        } else if header.requestID == 0 && status == .invalidArgument {
          // A gateway from before packing could not read the first pack: that call goes
          // again, plain, and so does every call after it on this connection.
          links[index].packing.support = .refuses
          if calls[probe]?.link == index { sendAgain(probe, unreadBy: index) }
          return
        }
      }
      // Cancelled, timed out, or since sent to another gateway.
      guard var call = calls[header.requestID], call.link == index else { return }
      if header.endOfStream && status == .unavailable && call.idempotent && !call.streamed
        && links.indices.contains(where: { links[$0].isLive && call.tried & bit($0) == 0 })
      {
        // This gateway cannot serve it now; another may.
        call.link = nil
        calls[header.requestID] = call
        unsent.prepend(header.requestID)
        return
      }
      if call.handler(.success(Response(header: header, body: body()))) {
        calls.removeValue(forKey: header.requestID)
      } else if !call.streamed {
        calls[header.requestID]?.streamed = true
      }
    }

    /// The gateway behind `index` lost its connection: its calls go elsewhere or end.
    /// What it sent before it went is read first (the monitor's event can be seen before
    /// the socket shows the last replies as readable).
    func lose(_ index: Int) {
      guard links[index].isLive else { return }
      readReplies(index)
      links[index].isLive = false
      // The next connection may reach another gateway build.
      links[index].packing.support = .unknown
      var moved = 0
      for (id, call) in calls where call.link == index {
        if call.idempotent && !call.streamed {
          calls[id]?.link = nil
          unsent.prepend(id)
          moved += 1
        } else {
          let why = call.streamed ? "it had already streamed responses" : "it is not idempotent"
          fail(id, WeftError(.unavailable, "lost the connection to gateway \(links[index].endpoint) while the call ran; \(why), so it was not sent again"))
        }
      }
      logger.warning("gateway connection lost", metadata: ["gateway": "\(links[index].endpoint)", "calls_moved": "\(moved)"])
    }

    while true {
      let now = MonotonicClock.now()
      let next = deadlines.nextDeadline
      let timeout = next.map { $0 > now ? Int(($0 - now + 999) / 1_000) : 0 } ?? 1_000
      // While calls wait for a connection, look again every 10 ms.
      _ = try? poller.wait(timeoutMilliseconds: min(timeout, unsent.isEmpty ? 1_000 : 10))

      if poller.isReadable(wakeIndex) {
        wake.drain()
        let (commands, closed) = state.withLock { state in
          defer { state.commands.removeAll() }
          return (state.commands, state.closed)
        }
        for command in commands {
          switch command {
          case .call(let id, let frames, let deadline, let idempotent, let handler):
            calls[id] = Call(deadline: deadline, handler: handler, frames: frames, idempotent: idempotent)
            deadlines.insert(id: id, deadline: deadline &+ Self.grace)
            unsent.append(id)
          case .cancel(let id):
            if let index = calls[id]?.link, let frame = try? Self.cancelHeader(id) {
              try? links[index].socket.send(Signature.client, more: true, wait: false)
              try? links[index].socket.send(frame, more: false, wait: false)
            }
            fail(id, WeftError(.cancelled, "cancelled by the caller"))
          case .follow(let id, let frames):
            guard calls[id] != nil else { break }
            if let index = calls[id]?.link {
              Self.send(frames, on: links[index].socket)
            } else {
              calls[id]?.followUps.append(frames)
            }
          }
        }
        if closed {
          for id in Array(calls.keys) { fail(id, WeftError(.cancelled, "client closed")) }
          return
        }
      }

      // Replies first: those a gateway sent before its connection dropped still count.
      for index in links.indices where poller.isReadable(socketIndexes[index]) { readReplies(index) }

      for (index, link) in links.enumerated() {
        guard let monitor = link.monitor, let monitorIndex = monitorIndexes[index], poller.isReadable(monitorIndex) else { continue }
        while let event = try? monitor.next() {
          switch event.kind {
          case .handshakeSucceeded:
            if !link.isLive {
              logger.info("gateway connected", metadata: ["gateway": "\(link.endpoint)"])
              link.packing.support = .unknown
            }
            link.isLive = true
          case .disconnected:
            lose(index)
          case .other:
            break
          }
        }
      }

      while let id = unsent.first {
        guard var call = calls[id] else {
          unsent.removeFirst()  // cancelled or timed out before it could be sent
          continue
        }
        guard send(id, &call) else { break }
        calls[id] = call
        unsent.removeFirst()
      }
      flushPacks()

      let after = MonotonicClock.now()
      while let (_, id) = deadlines.popExpired(at: after) {
        fail(id, WeftError(.deadlineExceeded, "no reply from the gateway before the deadline"))
      }
      if deadlines.count > 2 * calls.count + 1_024 { deadlines.compact { calls[$0] != nil } }
    }
  }

  /// Sends a call's frames without waiting: throws if the connection is not up (EAGAIN)
  /// or closing.
  private static func sendPlain(_ frames: [[UInt8]], on socket: Socket) throws {
    // Only the first frame can meet EAGAIN; the rest of a message then always goes.
    try socket.send(frames[0], more: frames.count > 1, wait: false)
    for frame in 1..<frames.count { try socket.send(frames[frame], more: frame < frames.count - 1) }
  }

  /// Sends one message (its frames) on a connected DEALER, which queues without bound.
  private static func send(_ frames: [[UInt8]], on socket: Socket) {
    for (index, frame) in frames.enumerated() { try? socket.send(frame, more: index < frames.count - 1) }
  }

  /// The header of a cancel message for the caller's request `id`.
  private static func cancelHeader(_ id: UInt64) throws -> [UInt8] {
    var header = RequestHeader()
    header.requestID = id
    header.cancel = true
    return try header.serializedBytes()
  }
}

/// Moves a non-Sendable value into the one thread that will own it from then on.
struct UnsafeTransfer<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
