import Foundation
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
  /// Messages queued since the last flush, packed or not.
  @exclusivity(unchecked) private(set) var queuedCount = 0
  /// Whether the last read of this link's socket found one message.
  @exclusivity(unchecked) var drainsAreSingle = false
  /// Small replies queued since the last message or flush, to go as one PACKED message.
  @exclusivity(unchecked) private var pack = FramePack()
  /// A pack is queued once it holds this many replies (or is full).
  static let packMessages = 64

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
    // For the old connection: the gateway gave that work away.
    outgoing.flush { _, _ in }
    pack.removeAll()
    queuedCount = 0
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

  /// Queues [`envelope` (+ `inlineHeader` in its frame), frames `appendRest` adds] for the
  /// gateway, after the replies packed so far (the link keeps order).
  func send(_ envelope: WorkerEnvelope, inlineHeader: UnsafeRawBufferPointer? = nil, at now: UInt64, appendRest: (Frames) -> Void) {
    closePack()
    queuedCount += 1
    envelope.withUnsafeBytes { encoded in
      if let inlineHeader { outgoing.frames.append(encoded, followedBy: inlineHeader) } else { outgoing.frames.append(encoded) }
    }
    appendRest(outgoing.frames)
    outgoing.endMessage(())
    lastSent = now
  }

  /// Queues a PARTIAL or FINAL, [`envelope` + `header`, body…] when the envelope says so
  /// (version 2), else [`envelope`, `header`, body…]: into the pack when the gateway reads
  /// PACKED and the reply is small (its bytes copied once, no frames made for it), else as
  /// its own message.
  func sendReply(_ envelope: WorkerEnvelope, header: [UInt8], body: [Data], at now: UInt64) {
    let inline = envelope.hasInlineHeader
    let size = WorkerEnvelope.longSize + header.count + body.reduce(0) { $0 + $1.count }
    guard peerReadsPacked && size <= FramePack.packableMessageBytes else {
      return header.withUnsafeBytes { header in
        send(envelope, inlineHeader: inline ? header : nil, at: now) { frames in
          if !inline { frames.append(header) }
          for frame in body { frames.append(frame) }
        }
      }
    }
    pack.startMessage(frameCount: (inline ? 1 : 2) + body.count)
    envelope.withUnsafeBytes { encoded in
      header.withUnsafeBytes { header in
        pack.appendFrame(encoded, followedBy: inline ? header : nil)
        if !inline { pack.appendFrame(header) }
      }
    }
    for frame in body { frame.withUnsafeBytes { pack.appendFrame($0) } }
    queuedCount += 1
    lastSent = now
    if pack.messageCount >= Self.packMessages || pack.isFull { closePack() }
  }

  /// Whether anything waits to be sent.
  var hasQueued: Bool { queuedCount > 0 }

  /// Queues the replies packed so far as one message: a PACKED, or a lone reply as it is.
  private func closePack() {
    guard !pack.isEmpty else { return }
    if pack.messageCount == 1 {
      pack.bytes.withUnsafeBytes { bytes in
        FramePack.forEachMessage(in: bytes) { message in
          for frame in message { outgoing.frames.append(frame) }
        }
      }
    } else {
      WorkerEnvelope(.packed).withUnsafeBytes { outgoing.frames.append($0) }
      outgoing.frames.append(pack.bytes)
    }
    outgoing.endMessage(())
    pack.removeAll()
  }

  /// Sends what is queued (the pack first); returns how many messages failed and the
  /// first error. The socket has no queue bound (the gateway bounds the work it sends by
  /// our capacity), so a send fails only when the socket is closing.
  func flush() -> (failed: Int, error: (any Error)?) {
    closePack()
    queuedCount = 0
    var failed = 0
    var first: (any Error)?
    outgoing.flush { _, range in
      do {
        try socket.send(outgoing.frames, range: range)
      } catch {
        failed += 1
        first = first ?? error
      }
    }
    return (failed, first)
  }
}
