import CZeroMQ

/// The ZeroMQ socket types Weft uses.
public enum SocketType: Sendable {
  case router, dealer, pair, req, rep, push, pull

  var rawValue: Int32 {
    switch self {
    case .router: ZMQ_ROUTER
    case .dealer: ZMQ_DEALER
    case .pair: ZMQ_PAIR
    case .req: ZMQ_REQ
    case .rep: ZMQ_REP
    case .push: ZMQ_PUSH
    case .pull: ZMQ_PULL
    }
  }
}

/// A ZeroMQ socket. It belongs to the thread that created it; other threads reach it
/// through a queue and a ``WakeSignal`` or an inproc socket, never directly.
///
/// `close()` is idempotent, and `deinit` closes a socket that is still open.
public final class Socket {
  @exclusivity(unchecked) private(set) var handle: UnsafeMutableRawPointer?
  /// Keeps the context alive for as long as the socket exists.
  private let context: Context
  /// The socket's type.
  public let type: SocketType
  /// A spare message for discarding frames past a receive limit.
  @exclusivity(unchecked) private var discard = zmq_msg_t()
  /// The last operation on the socket was a receive that found nothing (or a look at
  /// ZMQ_EVENTS that found nothing to read). libzmq has then processed the socket's
  /// commands and put its pipes to sleep, so its ZMQ_FD is signalled when the next
  /// message arrives; after any other operation (every one goes through ``open()``,
  /// which clears this) the signal may have been taken in already. See ``Poller``.
  @exclusivity(unchecked) private(set) var foundEmpty = false

  /// Creates a socket of `type`; linger defaults to 0 so closing never blocks.
  public init(context: Context, type: SocketType) throws {
    guard let handle = zmq_socket(context.handle, type.rawValue) else {
      throw ZMQError.last("zmq_socket")
    }
    self.handle = handle
    self.context = context
    self.type = type
    zmq_msg_init(&discard)
    try setOption(ZMQ_LINGER, 0)
  }

  deinit {
    close()
    zmq_msg_close(&discard)
  }

  /// A ROUTER socket bound to `endpoint`.
  public static func router(_ context: Context, binding endpoint: String) throws -> Socket {
    let socket = try Socket(context: context, type: .router)
    try socket.bind(endpoint)
    return socket
  }

  /// A DEALER socket connected to each of `endpoints`.
  public static func dealer(_ context: Context, connecting endpoints: [String]) throws -> Socket {
    let socket = try Socket(context: context, type: .dealer)
    for endpoint in endpoints { try socket.connect(endpoint) }
    return socket
  }

  /// Closes the socket; later calls do nothing.
  public func close() {
    guard let handle else { return }
    zmq_close(handle)
    self.handle = nil
  }

  /// Binds to `endpoint`, e.g. `tcp://*:5555` or `tcp://127.0.0.1:*` for any free port.
  public func bind(_ endpoint: String) throws {
    guard zmq_bind(try open(), endpoint) == 0 else { throw ZMQError.last("bind(\(endpoint))") }
  }

  /// Connects to `endpoint`; the connection completes in the background.
  public func connect(_ endpoint: String) throws {
    guard zmq_connect(try open(), endpoint) == 0 else {
      throw ZMQError.last("connect(\(endpoint))")
    }
  }

  /// Disconnects from an endpoint given to `connect(_:)`.
  public func disconnect(_ endpoint: String) throws {
    guard zmq_disconnect(try open(), endpoint) == 0 else {
      throw ZMQError.last("disconnect(\(endpoint))")
    }
  }

  /// The handle, for an operation about to run on it.
  func open() throws -> UnsafeMutableRawPointer {
    guard let handle else { throw ZMQError(operation: "socket closed", code: ENOTSOCK) }
    foundEmpty = false
    return handle
  }

  /// Whether a message can be received now (ZMQ_EVENTS, which processes the socket's
  /// pending commands first).
  func hasMessage() throws -> Bool {
    let readable = try intOption(ZMQ_EVENTS) & Int32(ZMQ_POLLIN) != 0
    foundEmpty = !readable
    return readable
  }

  // MARK: Receiving

  /// Receives one whole multipart message into `frames`, replacing what it held.
  ///
  /// - Parameters:
  ///   - frames: where the frames go.
  ///   - wait: block until a message arrives; when false, returns `false` at once if none is queued.
  ///   - maxFrames: frames past this many are read and discarded, and `frames.overflowed` is set.
  /// - Returns: whether a message was received.
  @discardableResult
  public func receive(into frames: Frames, wait: Bool = true, maxFrames: Int = 64) throws -> Bool {
    frames.removeAll()
    let socket = try open()
    var flags = wait ? Int32(0) : ZMQ_DONTWAIT
    while true {
      let into = frames.count < maxFrames ? frames.nextSlot() : withUnsafeMutablePointer(to: &discard) { $0 }
      if zmq_msg_recv(into, socket, flags) < 0 {
        let code = zmq_errno()
        if code == EINTR { continue }
        if code == EAGAIN && frames.count == 0 && !frames.overflowed {
          foundEmpty = true
          return false
        }
        throw ZMQError(operation: "zmq_msg_recv", code: code)
      }
      if frames.count < maxFrames { frames.count += 1 } else { frames.overflowed = true }
      if zmq_msg_more(into) == 0 { return true }
      // The rest of a multipart message is already queued: never wait for it.
      flags = 0
    }
  }

  // MARK: Sending

  /// Sends frame `index` of `frames`; on success that frame is left empty unless `keep`.
  ///
  /// - Parameters:
  ///   - more: more frames of the same message follow.
  ///   - wait: block while the peer's queue is full; when false, throws `EAGAIN` instead.
  ///   - keep: send a shared copy and leave the frame in place (e.g. an identity used again).
  public func send(_ frames: Frames, at index: Int, more: Bool, wait: Bool = true, keep: Bool = false) throws {
    let socket = try open()
    let flags = (more ? ZMQ_SNDMORE : 0) | (wait ? 0 : ZMQ_DONTWAIT)
    var message = frames.slot(index)
    if keep {
      zmq_msg_copy(&discard, message)
      message = withUnsafeMutablePointer(to: &discard) { $0 }
    }
    while zmq_msg_send(message, socket, flags) < 0 {
      let code = zmq_errno()
      if code == EINTR { continue }
      throw ZMQError(operation: "zmq_msg_send", code: code)
    }
  }

  /// Sends frames `range` of `frames` as (part of) one message.
  public func send(_ frames: Frames, range: Range<Int>, more: Bool = false, wait: Bool = true) throws {
    for index in range {
      try send(frames, at: index, more: more || index < range.upperBound - 1, wait: wait)
    }
  }

  /// Sends every frame of `frames` as one message; the frames are left empty.
  public func send(_ frames: Frames, wait: Bool = true) throws {
    try send(frames, range: 0..<frames.count, wait: wait)
    frames.count = 0
  }

  /// Sends a copy of `bytes` as one frame.
  public func send(bytes: UnsafeRawBufferPointer, more: Bool, wait: Bool = true) throws {
    let socket = try open()
    let flags = (more ? ZMQ_SNDMORE : 0) | (wait ? 0 : ZMQ_DONTWAIT)
    while zmq_send(socket, bytes.baseAddress, bytes.count, flags) < 0 {
      let code = zmq_errno()
      if code == EINTR { continue }
      throw ZMQError(operation: "zmq_send", code: code)
    }
  }

  /// Sends a copy of `bytes` as one frame.
  public func send(_ bytes: [UInt8], more: Bool, wait: Bool = true) throws {
    try bytes.withUnsafeBytes { try send(bytes: $0, more: more, wait: wait) }
  }
}
