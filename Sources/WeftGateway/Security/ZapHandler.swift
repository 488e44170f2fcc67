import ZeroMQ

/// Answers ZeroMQ's authentication requests (ZAP, RFC 27) for the gateway's CURVE ports:
/// a peer may complete its handshake only if its public key is in the ring with a role
/// that port takes. The reply labels the connection `role:name`, which every message on
/// it then carries as its `User-Id` property.
enum ZapHandler {
  /// The ZAP endpoint libzmq asks, in the sockets' own context.
  static let endpoint = "inproc://zeromq.zap.01"
  /// The ZAP domains of the two ports.
  static let clientDomain = "weft-clients"
  static let workerDomain = "weft-workers"

  /// The reply frames to one request's frames: version, request id, domain, address,
  /// routing id, mechanism, then the credentials (CURVE: the 32-byte client key).
  static func answer(_ request: Frames, ring: KeyRing) -> [[UInt8]] {
    guard request.count >= 7, request.bytes(at: 0) == Array("1.0".utf8) else {
      return reply(requestID: request.count > 1 ? request.bytes(at: 1) : [], 500, "malformed ZAP request", userID: "")
    }
    let requestID = request.bytes(at: 1)
    let domain = String(decoding: request.bytes(at: 2), as: UTF8.self)
    guard String(decoding: request.bytes(at: 5), as: UTF8.self) == "CURVE", let key = CurveKeyPair.z85(request[6]) else {
      return reply(requestID: requestID, 400, "only CURVE peers are accepted", userID: "")
    }
    guard let peer = ring.peer(forKey: key) else { return reply(requestID: requestID, 400, "unknown key", userID: "") }
    let allowed: Bool =
      switch peer.role {
      case .worker: domain == workerDomain
      case .client, .admin: domain == clientDomain
      }
    guard allowed else { return reply(requestID: requestID, 400, "a \(peer.role.rawValue) key may not connect here", userID: "") }
    return reply(requestID: requestID, 200, "OK", userID: peer.userID)
  }

  private static func reply(requestID: [UInt8], _ status: Int, _ text: String, userID: String) -> [[UInt8]] {
    [Array("1.0".utf8), requestID, Array("\(status)".utf8), Array(text.utf8), Array(userID.utf8), []]
  }
}
