import ZeroMQ

extension WeftClient {
  /// The endpoints of `endpoints` where a peer has completed a ZeroMQ handshake, in their
  /// order, as soon as one has (empty if none has within `timeout`): a quick check that a
  /// gateway is there before a call waits for its deadline. A gateway that is down, or
  /// stopped, does not answer.
  ///
  /// Each endpoint gets its own short-lived socket, closed before this returns.
  public static func answeringGateways(
    _ endpoints: [String], within timeout: Duration, curve: CurveClientCredentials? = nil
  ) throws -> [String] {
    let context = try Context()
    let probes = try endpoints.map { endpoint in
      let socket = try Socket(context: context, type: .dealer)
      socket.linger = 0
      try socket.setImmediate(true)
      if let curve { try socket.makeCurveClient(curve) }
      try socket.connect(endpoint)
      return (endpoint, socket)
    }
    defer { for (_, socket) in probes { socket.close() } }
    var answering = Set<String>()
    let deadline = ContinuousClock.now + timeout
    // Short polls in turn, so one silent endpoint does not hold up the others.
    repeat {
      for (endpoint, socket) in probes where !answering.contains(endpoint) {
        if try socket.waitUntilWritable(timeoutMilliseconds: 10) { answering.insert(endpoint) }
      }
    } while answering.isEmpty && ContinuousClock.now < deadline
    return endpoints.filter(answering.contains)
  }
}
