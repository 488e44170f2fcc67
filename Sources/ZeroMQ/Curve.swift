import CZeroMQ

/// A CURVE keypair (Curve25519), each key as its 40-character Z85 text.
public struct CurveKeyPair: Sendable, Equatable {
  /// The key others are given.
  public let publicKey: String
  /// The key kept secret.
  public let secretKey: String

  /// A new random keypair.
  public static func generate() throws -> CurveKeyPair {
    var publicKey = [CChar](repeating: 0, count: 41)
    var secretKey = [CChar](repeating: 0, count: 41)
    guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw ZMQError.last("zmq_curve_keypair (is libzmq built with CURVE?)") }
    return CurveKeyPair(publicKey: z85Text(publicKey), secretKey: z85Text(secretKey))
  }

  /// The keypair of `secretKey` (its public half is derived).
  public init(secretKey: String) throws {
    guard secretKey.utf8.count == 40 else { throw ZMQError(operation: "CURVE secret key: 40 Z85 characters expected", code: EINVAL) }
    var publicKey = [CChar](repeating: 0, count: 41)
    guard zmq_curve_public(&publicKey, secretKey) == 0 else { throw ZMQError.last("zmq_curve_public") }
    self.init(publicKey: z85Text(publicKey), secretKey: secretKey)
  }

  private init(publicKey: String, secretKey: String) {
    self.publicKey = publicKey
    self.secretKey = secretKey
  }

  /// The Z85 text of a 32-byte binary key (as a ZAP request carries it).
  public static func z85(_ key: UnsafeRawBufferPointer) -> String? {
    guard key.count == 32 else { return nil }
    var text = [CChar](repeating: 0, count: 41)
    guard zmq_z85_encode(&text, key.bindMemory(to: UInt8.self).baseAddress, 32) != nil else { return nil }
    return z85Text(text)
  }

  /// Whether `key` is a well-formed 40-character Z85 key.
  public static func isValid(_ key: String) -> Bool {
    guard key.utf8.count == 40 else { return false }
    var bytes = [UInt8](repeating: 0, count: 32)
    return zmq_z85_decode(&bytes, key) != nil
  }
}

/// The text of a NUL-terminated buffer libzmq filled.
private func z85Text(_ buffer: [CChar]) -> String {
  String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

extension Socket {
  /// Makes this (binding) socket a CURVE server with `secretKey`; every handshake is then
  /// put to the ZAP handler of the socket's context under `zapDomain`. Set before binding.
  public func makeCurveServer(secretKey: String, zapDomain: String) throws {
    try setOption(ZMQ_CURVE_SERVER, 1)
    try setKey(ZMQ_CURVE_SECRETKEY, secretKey)
    try Array(zapDomain.utf8).withUnsafeBytes { try setOption(ZMQ_ZAP_DOMAIN, $0) }
  }

  /// Makes this (connecting) socket a CURVE client of the server whose public key is
  /// `serverKey`, with `keys` as its own. Set before connecting.
  public func makeCurveClient(serverKey: String, keys: CurveKeyPair) throws {
    try setKey(ZMQ_CURVE_SERVERKEY, serverKey)
    try setKey(ZMQ_CURVE_PUBLICKEY, keys.publicKey)
    try setKey(ZMQ_CURVE_SECRETKEY, keys.secretKey)
  }

  private func setKey(_ option: Int32, _ text: String) throws {
    var bytes = Array(text.utf8)
    bytes.append(0)  // libzmq takes a Z85 key as 41 bytes, NUL included
    try bytes.withUnsafeBytes { try setOption(option, $0) }
  }
}

extension Frames {
  /// A property of received frame `index`'s message, e.g. `User-Id` (set by the ZAP
  /// handler for CURVE peers) or `Peer-Address`; nil when absent.
  public func property(_ name: String, at index: Int) -> String? {
    guard index < count, let value = zmq_msg_gets(slot(index), name) else { return nil }
    return String(cString: value)
  }
}

/// What a connecting peer (a client, a worker) needs for CURVE: the server's public key
/// and its own keypair.
public struct CurveClientCredentials: Sendable, Equatable {
  /// The gateway's Z85 public key.
  public var serverKey: String
  /// This peer's keypair; the gateway must list its public key.
  public var keys: CurveKeyPair

  /// Credentials for a server whose public key is `serverKey`.
  public init(serverKey: String, keys: CurveKeyPair) {
    self.serverKey = serverKey
    self.keys = keys
  }
}

extension Socket {
  /// Makes this socket a CURVE client with `credentials`. Set before connecting.
  public func makeCurveClient(_ credentials: CurveClientCredentials) throws {
    try makeCurveClient(serverKey: credentials.serverKey, keys: credentials.keys)
  }
}
