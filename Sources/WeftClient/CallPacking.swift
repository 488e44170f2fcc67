import WeftProtocol
import ZeroMQ

/// What the client knows about one gateway connection's packed calls (`WFP`,
/// docs/PROTOCOL.md), and the calls packed for it in the I/O thread's current turn.
///
/// A new connection starts unknown. The first small call on it goes as a pack of one: a
/// gateway that reads packs answers it under its request id, and from then on the small
/// calls of each turn go packed (a turn's lone call plain: a pack of one saves nothing);
/// a gateway from before packing cannot read it and answers
/// `INVALID_ARGUMENT` with request id 0, and the call goes again, plain, as does every
/// call after it on that connection.
struct CallPacking {
  enum Support: Equatable {
    case unknown
    /// The call with this request id went as the first pack; its answer tells.
    case probing(UInt64)
    case reads
    case refuses
  }

  var support = Support.unknown
  /// The calls packed this turn, sent together at its end.
  private(set) var pack = FramePack()
  /// Their request ids, in order.
  private(set) var ids: [UInt64] = []

  /// Whether this turn's pack has reached ``FramePack/fullBytes``.
  var isFull: Bool { pack.isFull }

  /// Whether a call of these frames ([signature, header, body…]) is worth packing: small,
  /// with room for the gateway's own frames around it.
  static func isPackable(_ frames: [[UInt8]]) -> Bool {
    guard frames.count >= 2, frames.count - 1 <= maxFramesPerCall else { return false }
    var bytes = 0
    for frame in frames.dropFirst() { bytes += frame.count }
    return bytes <= FramePack.packableMessageBytes
  }

  /// Frames a packed call may have: the gateway takes 64 a message, its identity and
  /// signature included.
  static let maxFramesPerCall = 62

  /// Adds call `id` (its frames after the signature) to this turn's pack.
  mutating func add(_ id: UInt64, frames: [[UInt8]]) {
    pack.append(message: frames.dropFirst())
    ids.append(id)
  }

  /// Empties this turn's pack without sending it.
  mutating func discard() {
    pack.removeAll()
    ids.removeAll(keepingCapacity: true)
  }

  /// Sends the pack on `socket` without waiting; returns the ids it held, and whether it went.
  mutating func send(on socket: Socket) -> (ids: [UInt64], sent: Bool) {
    defer { discard() }
    return (ids, (try? Self.send(pack, on: socket)) != nil)
  }

  /// Sends `frames` ([signature, header, body…]) as a pack of one, without waiting.
  static func sendAlone(_ frames: [[UInt8]], on socket: Socket) throws {
    var one = FramePack()
    one.append(message: frames.dropFirst())
    try send(one, on: socket)
  }

  /// Sends `pack` as a packed message without waiting.
  private static func send(_ pack: FramePack, on socket: Socket) throws {
    // Only the first frame can meet EAGAIN; the rest of a message then always goes.
    try socket.send(Signature.clientPacked, more: true, wait: false)
    try socket.send(pack.bytes, more: false)
  }
}
