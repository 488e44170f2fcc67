import CZeroMQ

/// A connection event libzmq reports for a monitored socket (zmq_socket_monitor(3)).
public struct SocketEvent: Sendable, Equatable {
  /// The events Weft watches.
  public enum Kind: Sendable, Equatable {
    /// The ZMTP handshake with a peer completed: messages can flow.
    case handshakeSucceeded
    /// A connection was closed: the peer went away, or heartbeats timed out.
    case disconnected
    /// Another event (connect attempts, retries, handshake failures).
    case other(UInt16)

    init(_ raw: UInt16) {
      switch Int32(raw) {
      case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: self = .handshakeSucceeded
      case ZMQ_EVENT_DISCONNECTED: self = .disconnected
      default: self = .other(raw)
      }
    }
  }

  /// What happened.
  public var kind: Kind
  /// The endpoint it happened on, as libzmq names it (e.g. `tcp://10.0.0.2:5555`).
  public var endpoint: String
}

/// The receiving end of a socket's event stream: a PAIR socket libzmq writes one
/// message per event to. Poll ``socket`` with the watched socket, and read with
/// ``next()`` until it returns nil.
public final class SocketMonitor {
  /// The PAIR socket events arrive on; add it to a ``Poller``.
  public let socket: Socket

  /// Starts reporting handshakes and disconnections of `watched` on a new inproc
  /// endpoint named `name` (unique within `context`).
  public init(watching watched: Socket, context: Context, name: String) throws {
    let endpoint = "inproc://\(name)"
    let events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED
    guard zmq_socket_monitor(try watched.open(), endpoint, events) == 0 else {
      throw ZMQError.last("zmq_socket_monitor(\(endpoint))")
    }
    socket = try Socket(context: context, type: .pair)
    try socket.connect(endpoint)
  }

  private let received = Frames(capacity: 2)

  /// The next queued event, without waiting; nil when none is queued.
  public func next() throws -> SocketEvent? {
    // Frame 0 is the event number (u16) and value (u32), frame 1 the endpoint.
    guard try socket.receive(into: received, wait: false, maxFrames: 2), received.count == 2,
      received.size(at: 0) >= 2
    else { return nil }
    let head = received.bytes(at: 0)
    let raw = UInt16(head[0]) | UInt16(head[1]) << 8
    return SocketEvent(kind: .init(raw), endpoint: String(decoding: received.bytes(at: 1), as: UTF8.self))
  }
}
