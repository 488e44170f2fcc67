import Foundation
import WeftProtocol
import ZeroMQ

/// The CURVE keys of a mesh run from one machine, in one directory, laid out the way the
/// gateway's key ring reads them:
///
/// ```
/// gateway/gateway.key, gateway.secret   the gateway's pair
/// clients/                              NAME.key files of clients (empty at first)
/// workers/local.key, local.secret       the local workers' and recommender's pair
/// admins/local.key, local.secret        the local CLI's pair
/// http/local.token                      a bearer token for the HTTP side's models
/// ```
///
/// `weft up` makes what is missing on first run when its config names the directory
/// (`gateway.curve.keys_dir`), and the CLI on the same machine uses it without flags.
public struct MeshKeys: Sendable, Equatable {
  /// The directory holding the layout.
  public let directory: String

  /// The key name of the pairs made for local workers and the local CLI.
  public static let localName = "local"
  /// What `keys_dir` may say for ``defaultDirectory``.
  public static let defaultMarker = "default"

  /// Keys in `directory`; ``defaultMarker`` means ``defaultDirectory``.
  public init(directory: String) {
    self.directory = directory == Self.defaultMarker ? Self.defaultDirectory : directory
  }

  /// `$WEFT_KEYS`, else `$XDG_STATE_HOME/weft/keys`, else `~/.local/state/weft/keys`.
  public static var defaultDirectory: String {
    let environment = ProcessInfo.processInfo.environment
    if let explicit = environment["WEFT_KEYS"], !explicit.isEmpty { return explicit }
    let state = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
      ?? (NSHomeDirectory() as NSString).appendingPathComponent(".local/state")
    return (state as NSString).appendingPathComponent("weft/keys")
  }

  /// The directory of public keys allowed to call services.
  public var clientKeys: String { path("clients") }
  /// The directory of public keys allowed to register as workers.
  public var workerKeys: String { path("workers") }
  /// The directory of public keys allowed to change routes and rewards too.
  public var adminKeys: String { path("admins") }
  /// The directory of `NAME.token` files the HTTP side accepts as bearer tokens.
  public var httpTokens: String { path("http") }
  /// The gateway's public key file, handed to clients and workers.
  public var gatewayPublicKey: String { path("gateway/gateway.key") }
  var gatewaySecretKey: String { path("gateway/gateway.secret") }

  /// Whether the gateway's pair exists.
  public var exist: Bool { FileManager.default.fileExists(atPath: gatewaySecretKey) }

  /// Makes whatever part of the layout is missing; keys already there are kept.
  /// - Returns: the secret key and token files written.
  @discardableResult
  public func createMissing() throws -> [String] {
    var written: [String] = []
    for (directory, name) in [(path("gateway"), "gateway"), (workerKeys, Self.localName), (adminKeys, Self.localName)] {
      if !FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("\(name).secret")) {
        written.append(try CurveKeyFiles.generate(in: directory, name: name).secretKey)
      }
    }
    try FileManager.default.createDirectory(atPath: clientKeys, withIntermediateDirectories: true)
    let token = (httpTokens as NSString).appendingPathComponent("\(Self.localName).token")
    if !FileManager.default.fileExists(atPath: token) {
      try FileManager.default.createDirectory(atPath: httpTokens, withIntermediateDirectories: true)
      var generator = SystemRandomNumberGenerator()
      let hex = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
      guard FileManager.default.createFile(atPath: token, contents: Data((hex + "\n").utf8), attributes: [.posixPermissions: 0o600])
      else { throw ConfigurationError("cannot write \(token)") }
      written.append(token)
    }
    return written
  }

  /// The gateway's settings: its secret key and the three role directories.
  public func gatewaySecurity() throws -> GatewaySecurity {
    guard exist else { throw missing }
    var security = GatewaySecurity(
      secretKey: try CurveKeyFiles.keyPair(secretAt: gatewaySecretKey).secretKey,
      clientKeys: clientKeys, workerKeys: workerKeys, adminKeys: adminKeys)
    security.meshKeys = self
    return security
  }

  /// What a local worker or the recommender connects with.
  public func workerCredentials() throws -> CurveClientCredentials { try credentials(in: workerKeys) }
  /// What the local CLI connects with: the admin pair.
  public func adminCredentials() throws -> CurveClientCredentials { try credentials(in: adminKeys) }

  private func credentials(in directory: String) throws -> CurveClientCredentials {
    guard exist else { throw missing }
    return try CurveKeyFiles.credentials(
      gatewayKey: gatewayPublicKey, secretKey: (directory as NSString).appendingPathComponent("\(Self.localName).secret"))
  }

  private var missing: ConfigurationError {
    ConfigurationError("no mesh keys in \(directory) yet: `weft keys init --dir \(directory)` makes them, and `weft up` does on first run")
  }

  private func path(_ relative: String) -> String { (directory as NSString).appendingPathComponent(relative) }
}
