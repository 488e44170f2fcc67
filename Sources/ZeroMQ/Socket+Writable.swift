import CZeroMQ

extension Socket {
  /// Waits until the socket can send without blocking, or `timeoutMilliseconds` pass.
  ///
  /// With ``setImmediate(_:)`` on, a DEALER can send only once a connection has finished
  /// its ZeroMQ handshake, so this tells whether a peer is there and answering (a stopped
  /// or absent one never completes the handshake).
  /// - Returns: whether it became writable in time.
  public func waitUntilWritable(timeoutMilliseconds: Int) throws -> Bool {
    var item = zmq_pollitem_t(socket: try open(), fd: -1, events: Int16(ZMQ_POLLOUT), revents: 0)
    while true {
      let ready = zmq_poll(&item, 1, timeoutMilliseconds)
      if ready >= 0 { return ready > 0 }
      let code = zmq_errno()
      guard code == EINTR else { throw ZMQError(operation: "zmq_poll", code: code) }
    }
  }
}
