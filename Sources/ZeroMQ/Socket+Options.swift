import CZeroMQ

/// Typed socket options. Each maps to one `ZMQ_*` option; see zmq_setsockopt(3).
extension Socket {
  /// Milliseconds unsent messages are kept after `close()`; -1 waits forever. Default 0 here.
  public var linger: Int {
    get { Int((try? intOption(ZMQ_LINGER)) ?? 0) }
    set { try? setOption(ZMQ_LINGER, Int32(newValue)) }
  }

  /// Most messages queued for one peer before sends block or fail (0: no limit).
  public func setSendHighWaterMark(_ messages: Int) throws { try setOption(ZMQ_SNDHWM, Int32(messages)) }

  /// Most messages queued from one peer before libzmq stops reading it (0: no limit).
  public func setReceiveHighWaterMark(_ messages: Int) throws { try setOption(ZMQ_RCVHWM, Int32(messages)) }

  /// The identity a ROUTER peer sees for this socket; set before connecting.
  public func setRoutingID(_ identity: [UInt8]) throws {
    try identity.withUnsafeBytes { try setOption(ZMQ_ROUTING_ID, $0) }
  }

  /// ROUTER only: sending to an unknown identity fails with `EHOSTUNREACH`, and a full
  /// peer queue with `EAGAIN`, instead of the message being dropped silently.
  public func setRouterMandatory(_ on: Bool) throws { try setOption(ZMQ_ROUTER_MANDATORY, on ? 1 : 0) }

  /// Queue messages only to completed connections, so a dead endpoint gets none.
  public func setImmediate(_ on: Bool) throws { try setOption(ZMQ_IMMEDIATE, on ? 1 : 0) }

  /// Peers sending a frame larger than this many bytes are disconnected (-1: no limit).
  public func setMaxMessageSize(_ bytes: Int) throws {
    var value = Int64(bytes)
    try withUnsafeBytes(of: &value) { try setOption(ZMQ_MAXMSGSIZE, $0) }
  }

  /// First and largest reconnect interval in milliseconds; libzmq doubles the wait between.
  public func setReconnectInterval(_ milliseconds: Int, max maximum: Int) throws {
    try setOption(ZMQ_RECONNECT_IVL, Int32(milliseconds))
    try setOption(ZMQ_RECONNECT_IVL_MAX, Int32(maximum))
  }

  /// ZMTP heartbeats: a PING after `interval` ms without traffic, and the connection is
  /// closed (and reconnected) when nothing arrives for `timeout` ms, so a peer that died
  /// silently, or a link that drops packets, is noticed within `timeout`.
  public func setHeartbeat(intervalMilliseconds interval: Int, timeoutMilliseconds timeout: Int) throws {
    try setOption(ZMQ_HEARTBEAT_IVL, Int32(interval))
    try setOption(ZMQ_HEARTBEAT_TIMEOUT, Int32(timeout))
    // Lets the peer close its side too if our pings stop.
    try setOption(ZMQ_HEARTBEAT_TTL, Int32(timeout))
  }

  /// Gives up a TCP connect attempt after this many milliseconds (0: the OS's timeout),
  /// so reconnecting to a host whose packets are dropped retries at the reconnect pace.
  public func setConnectTimeout(_ milliseconds: Int) throws { try setOption(ZMQ_CONNECT_TIMEOUT, Int32(milliseconds)) }

  /// The endpoint last bound, with a wildcard port resolved, e.g. `tcp://127.0.0.1:41234`.
  public func lastEndpoint() throws -> String {
    var buffer = [CChar](repeating: 0, count: 1024)
    var size = buffer.count
    guard zmq_getsockopt(try open(), ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else {
      throw ZMQError.last("getsockopt(ZMQ_LAST_ENDPOINT)")
    }
    return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  func setOption(_ option: Int32, _ value: Int32) throws {
    var value = value
    guard zmq_setsockopt(try open(), option, &value, MemoryLayout<Int32>.size) == 0 else {
      throw ZMQError.last("setsockopt(\(option))")
    }
  }

  func setOption(_ option: Int32, _ bytes: UnsafeRawBufferPointer) throws {
    guard zmq_setsockopt(try open(), option, bytes.baseAddress, bytes.count) == 0 else {
      throw ZMQError.last("setsockopt(\(option))")
    }
  }

  func intOption(_ option: Int32) throws -> Int32 {
    var value: Int32 = 0
    var size = MemoryLayout<Int32>.size
    guard zmq_getsockopt(try open(), option, &value, &size) == 0 else {
      throw ZMQError.last("getsockopt(\(option))")
    }
    return value
  }
}
