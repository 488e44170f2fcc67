import ZeroMQ

/// A TCP port on 127.0.0.1 that nothing listens on now (the OS's pick), for a server a
/// test starts itself.
func freeLoopbackPort() throws -> Int {
  let context = try Context()
  let socket = try Socket(context: context, type: .router)
  try socket.bind("tcp://127.0.0.1:*")
  let endpoint = try socket.lastEndpoint()
  socket.close()
  return Int(endpoint.split(separator: ":").last!)!
}
