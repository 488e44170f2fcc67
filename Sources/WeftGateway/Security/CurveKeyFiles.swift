import Foundation
import WeftProtocol
import ZeroMQ

/// CURVE keys on disk: `NAME.key` holds a Z85 public key, `NAME.secret` the Z85 secret key
/// (mode 0600). Config files and flags name these files, never keys inline.
public enum CurveKeyFiles {
  /// Writes a new keypair as `directory/name.key` and `directory/name.secret`, making the
  /// directory if needed.
  /// - Returns: the two files' paths.
  @discardableResult
  public static func generate(in directory: String, name: String) throws -> (publicKey: String, secretKey: String) {
    let keys = try CurveKeyPair.generate()
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let base = (directory as NSString).appendingPathComponent(name)
    let secret = base + ".secret"
    guard FileManager.default.createFile(atPath: secret, contents: Data((keys.secretKey + "\n").utf8), attributes: [.posixPermissions: 0o600])
    else { throw ConfigurationError("cannot write \(secret)") }
    try (keys.publicKey + "\n").write(toFile: base + ".key", atomically: true, encoding: .utf8)
    return (base + ".key", secret)
  }

  /// The public key in the file at `path`.
  public static func publicKey(at path: String) throws -> String {
    let key = try text(at: path)
    guard CurveKeyPair.isValid(key) else { throw ConfigurationError("\(path) does not hold a Z85 CURVE public key") }
    return key
  }

  /// The keypair whose secret key is in the file at `path`.
  public static func keyPair(secretAt path: String) throws -> CurveKeyPair {
    let key = try text(at: path)
    guard CurveKeyPair.isValid(key) else { throw ConfigurationError("\(path) does not hold a Z85 CURVE secret key") }
    return try CurveKeyPair(secretKey: key)
  }

  /// Client credentials: the gateway's public key file and this peer's secret key file.
  public static func credentials(gatewayKey: String, secretKey: String) throws -> CurveClientCredentials {
    CurveClientCredentials(serverKey: try publicKey(at: gatewayKey), keys: try keyPair(secretAt: secretKey))
  }

  private static func text(at path: String) throws -> String {
    do {
      return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    } catch {
      throw ConfigurationError("cannot read key file \(path): \(error.localizedDescription)")
    }
  }
}
