import WeftProtocol
import ZeroMQ

/// The worker's connection to one gateway: a DEALER, liveness and reconnect backoff.
///
/// A link that hears nothing for `liveness` heartbeats is replaced by a new socket (a
/// new identity, so the gateway sees a fresh worker) after a backoff that doubles up
/// to a limit and resets once the gateway answers. Used by the worker's socket thread
/// only (no exclusivity checks, as in ``WorkerLoop``).
final class GatewayLink {
  let endpoint: String
  private let context: Context
  @exclusivity(unchecked) private(set) var socket: Socket
  /// Bumped on every reconnect; replies for older generations are dropped.
  @exclusivity(unchecked) private(set) var generation: UInt64 = 0
  @exclusivity(unchecked) var lastHeard: UInt64
  @exclusivity(unchecked) var lastSent: UInt64
  /// When the next reconnect may happen.
  @exclusivity(unchecked) private var reconnectNotBefore: UInt64 = 0
  @exclusivity(unchecked) private var backoff: UInt64 = 250_000
  private let maxBackoff: UInt64
  /// CURVE credentials, kept for reconnects.
  private let curve: CurveClientCredentials?
  /// The gateway acknowledged our DISCONNECT: it will send no more requests.
  @exclusivity(unchecked) var drainAcknowledged = false
  /// Bumped on every READY: requests of earlier registrations count apart in the
  /// capacity shares.
  @exclusivity(unchecked) var registration: UInt64 = 0
  /// When the last registration began (READY, or waiting for a slot to send it).
  @exclusivity(unchecked) var registeredAt: UInt64 = 0
  /// Messages for the gateway, sent together by ``flush()`` so libzmq's I/O thread
  /// writes many per TCP send (the gateway does the same; docs/BENCHMARKS.md).
  let outgoing = Outbox<Void>()
  /// The gateway sent a PACKED, so it reads them: bursts of small replies go to it packed.
  /// A new connection may reach another gateway: it starts unknown again.
  @exclusivity(unchecked) var peerReadsPacked = false
  /// Small replies of one flush, sent as one PACKED message.
  @exclusivity(unchecked) private var pack = FramePack()
  private let packMessage = Frames(capacity: 2)
  /// A reply of at most this many bytes may be packed: copying it costs less than
  /// libzmq's work per message.
  static let packableReplyBytes = 4_096
  /// A pack is sent once it holds this many bytes.
  static let packBytes = 65_536

  init(endpoint: String, context: Context, maxBackoff: UInt64, curve: CurveClientCredentials?, now: UInt64) throws {
    self.endpoint = endpoint
    self.context = context
    self.maxBackoff = maxBackoff
    lastHeard = now
    lastSent = now
    self.curve = curve
    socket = try GatewayLink.makeSocket(context: context, endpoint: endpoint, curve: curve)
  }

  private static func makeSocket(context: Context, endpoint: String, curve: CurveClientCredentials?) throws -> Socket {
    let socket = try Socket(context: context, type: .dealer)
    if let curve { try socket.makeCurveClient(curve) }
    try socket.setSendHighWaterMark(0)  // bounded by the gateway's view of our capacity
    try socket.setReceiveHighWaterMark(0)
    try socket.setReconnectInterval(100, max: 5_000)
    try socket.connect(endpoint)
    return socket
  }

  /// Heard from the gateway: alive, and the backoff starts over.
  func heard(at now: UInt64) {
    lastHeard = now
    backoff = 250_000
  }

  /// Whether the gateway has been silent too long and a reconnect is allowed now.
  func shouldReconnect(at now: UInt64, interval: UInt64, liveness: UInt64) -> Bool {
    now > lastHeard &+ interval &* liveness && now >= reconnectNotBefore
  }

  /// Replaces the socket with a new one; the caller sends READY again.
  func reconnect(at now: UInt64) throws {
    outgoing.flush { _, _ in }  // for the old connection: the gateway gave that work away
    socket.close()
    socket = try GatewayLink.makeSocket(context: context, endpoint: endpoint, curve: curve)
    generation &+= 1
    peerReadsPacked = false
    lastHeard = now
    reconnectNotBefore = now &+ backoff
    backoff = min(backoff * 2, maxBackoff)
  }

  /// Queues [envelope, extra…] for the gateway.
  func send(_ command: WorkerCommand, frames extra: [[UInt8]] = [], at now: UInt64) {
    send(WorkerEnvelope(command), at: now) { frames in
      for frame in extra { frames.append(frame) }
    }
  }

  /// Queues [`envelope` (+ `inlineHeader` in its frame), frames `appendRest` adds] for the gateway.
  func send(_ envelope: WorkerEnvelope, inlineHeader: UnsafeRawBufferPointer? = nil, at now: UInt64, appendRest: (Frames) -> Void) {
    envelope.withUnsafeBytes { encoded in
      if let inlineHeader { outgoing.frames.append(encoded, followedBy: inlineHeader) } else { outgoing.frames.append(encoded) }
    }
    appendRest(outgoing.frames)
    outgoing.endMessage(())
    lastSent = now
  }

  /// Queues a message with a header: [`envelope` + `header`, body…] in one frame when the
  /// envelope says so (version 2), else [`envelope`, `header`, body…]; `appendBody` adds the body.
  func send(_ envelope: WorkerEnvelope, header: [UInt8], at now: UInt64, appendBody: (Frames) -> Void) {
    let inline = envelope.hasInlineHeader
    header.withUnsafeBytes { header in
      send(envelope, inlineHeader: inline ? header : nil, at: now) { frames in
        if !inline { frames.append(header) }
        appendBody(frames)
      }
    }
  }

  /// Sends what is queued, small PARTIALs and FINALs packed when the gateway reads
  /// PACKED and several go together; returns how many messages failed and the first
  /// error. The socket has no queue bound (the gateway bounds the work it sends by our
  /// capacity), so a send fails only when the socket is closing.
  func flush() -> (failed: Int, error: (any Error)?) {
    var failed = 0
    var first: (any Error)?
    func sent(_ messages: Int, _ attempt: () throws -> Void) {
      do {
        try attempt()
      } catch {
        failed += messages
        first = first ?? error
      }
    }
    func sendPack() {
      let messages = pack.messageCount
      packMessage.removeAll()
      WorkerEnvelope(.packed).withUnsafeBytes { packMessage.append($0) }
      packMessage.append(pack.bytes)
      pack.removeAll()
      sent(messages) { try socket.send(packMessage) }
    }
    let packing = peerReadsPacked && outgoing.count > 1
    outgoing.flush { _, range in
      if packing && isPackableReply(range) {
        pack.append(outgoing.frames, range: range)
        if pack.bytes.count >= Self.packBytes { sendPack() }
        return
      }
      // What was packed goes first: the link keeps order.
      if !pack.isEmpty { sendPack() }
      sent(1) { try socket.send(outgoing.frames, range: range) }
    }
    if !pack.isEmpty { sendPack() }
    return (failed, first)
  }

  /// Whether the queued message in `range` is a PARTIAL or FINAL small enough to pack.
  private func isPackableReply(_ range: Range<Int>) -> Bool {
    let command = WorkerEnvelope.command(of: outgoing.frames[range.lowerBound])
    return (command == .final || command == .partial) && outgoing.frames.totalSize(range) <= Self.packableReplyBytes
  }
}
