import CZeroMQ

/// Runs libzmq's built-in proxy between two sockets until the context is terminated.
///
/// Used by `weft-bench` as the C baseline for one brokered hop.
package func runProxy(frontend: Socket, backend: Socket) throws {
  guard zmq_proxy(try frontend.open(), try backend.open(), nil) == 0 else {
    throw ZMQError.last("zmq_proxy")
  }
}
