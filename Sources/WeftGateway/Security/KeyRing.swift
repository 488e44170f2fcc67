import Foundation
import WeftProtocol
import ZeroMQ

/// Who may connect, by CURVE public key: one directory of `NAME.key` files (each the
/// peer's Z85 public key) per role. Read at start and again on reload, so deleting a file
/// and reloading revokes that key.
struct KeyRing: Sendable {
  /// What a key may do.
  enum Role: String, Sendable, CaseIterable {
    /// Call model services and the recommender, read `weft.mesh` status and routes.
    case client
    /// Register on the worker port; nothing else.
    case worker
    /// What a client may, and change routes and credit rewards.
    case admin
  }

  /// A peer the ring knows, as the ZAP handler labels its connection (`role:name`).
  struct Peer: Sendable, Equatable {
    let role: Role
    let name: String
    var userID: String { "\(role.rawValue):\(name)" }
  }

  private var byKey: [String: Peer] = [:]
  private var current: Set<String> = []

  /// The keys of `directories` (a role's directory may be absent: no key has that role).
  /// - Throws: ``ConfigurationError`` naming a directory that cannot be read or a file
  ///   that is not a key.
  init(directories: [Role: String]) throws {
    for (role, directory) in directories.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
      let files: [String]
      do {
        files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".key") }.sorted()
      } catch {
        throw ConfigurationError("cannot read the \(role.rawValue) key directory \(directory): \(error.localizedDescription)")
      }
      for file in files {
        let path = (directory as NSString).appendingPathComponent(file)
        let key = try CurveKeyFiles.publicKey(at: path)
        let peer = Peer(role: role, name: String(file.dropLast(4)))
        byKey[key] = peer
        current.insert(peer.userID)
      }
    }
  }

  /// The peer of a Z85 public key, if the ring holds it.
  func peer(forKey key: String) -> Peer? { byKey[key] }

  /// The peer of a connection's `User-Id` (`role:name`), if its key is still in the ring.
  func peer(ofUserID userID: String) -> Peer? {
    guard current.contains(userID), let colon = userID.firstIndex(of: ":"),
      let role = Role(rawValue: String(userID[..<colon]))
    else { return nil }
    return Peer(role: role, name: String(userID[userID.index(after: colon)...]))
  }

  /// How many keys it holds.
  var count: Int { byKey.count }
}
