import WeftGateway
import WeftProtocol
import ZeroMQ

/// The `gateway.curve` section: CURVE on both ports, as files: a mesh key directory, or
/// the gateway's secret key and a directory per role.
struct GatewayCurveSection: ConfigurationSection {
  var keysDirectory: String?
  var secretKey: String?
  var clients: String?
  var workers: String?
  var admins: String?

  static var defaults: GatewayCurveSection { GatewayCurveSection() }

  static var keys: [ConfigurationKey<GatewayCurveSection>] {
    [
      .text(
        "keys_dir", \.keysDirectory, absent: "the four keys below",
        "a mesh key directory (`weft keys init`; `default`: the one the CLI finds by itself); `weft up` makes missing keys in it; local workers and the recommender take theirs from it"),
      .text("secret_key", \.secretKey, absent: "required without keys_dir", "the gateway's NAME.secret file (`weft keys generate`)"),
      .text("clients", \.clients, absent: "no client keys", "directory of NAME.key files that may call services"),
      .text("workers", \.workers, absent: "no worker keys", "directory of NAME.key files that may register as workers"),
      .text("admins", \.admins, absent: "no admin keys", "directory of NAME.key files that may also change routes and rewards"),
    ]
  }

  /// The key that reads this section into a gateway's security settings.
  static func key<Section>(_ path: WritableKeyPath<Section, GatewaySecurity?>) -> ConfigurationKey<Section> {
    ConfigurationKey(
      "curve", type: "mapping (gateway.curve)", meaning: "CURVE encryption and key authentication on both ports",
      defaultText: { _ in "off: plaintext" }
    ) { section, node, reader in
      let files = try GatewayCurveSection.read(node, reader, from: .defaults)
      if let directory = files.keysDirectory {
        guard files.secretKey == nil, files.clients == nil, files.workers == nil, files.admins == nil else {
          throw reader.error(node, "keys_dir takes the place of secret_key, clients, workers and admins; give one or the other")
        }
        let keys = MeshKeys(directory: directory)
        do {
          if reader.createsMeshKeys { try keys.createMissing() }
          section[keyPath: path] = try keys.gatewaySecurity()
        } catch {
          throw reader.child("keys_dir").error(node, "\(error)")
        }
        return
      }
      guard let secretKey = files.secretKey else { throw reader.error(node, "needs keys_dir, or secret_key and the role directories") }
      do {
        let keys = try CurveKeyFiles.keyPair(secretAt: secretKey)
        section[keyPath: path] = GatewaySecurity(
          secretKey: keys.secretKey, clientKeys: files.clients, workerKeys: files.workers, adminKeys: files.admins)
      } catch {
        throw reader.child("secret_key").error(node, "\(error)")
      }
    }
  }
}

/// The `curve` section of a process that connects to gateways (a worker, the recommender).
struct PeerCurveSection: ConfigurationSection {
  var gatewayKey = ""
  var key = ""

  static var defaults: PeerCurveSection { PeerCurveSection() }

  static var keys: [ConfigurationKey<PeerCurveSection>] {
    [
      .text("gateway_key", \.gatewayKey, required: true, "the gateway's NAME.key file"),
      .text("key", \.key, required: true, "this process's own NAME.secret file (its NAME.key in the gateway's workers directory)"),
    ]
  }

  /// The key that reads this section into a link's credentials.
  static func key<Section>(_ path: WritableKeyPath<Section, CurveClientCredentials?>) -> ConfigurationKey<Section> {
    ConfigurationKey(
      "curve", type: "mapping (workers[].curve)", meaning: "connect to the gateways over CURVE", defaultText: { _ in "off: plaintext" }
    ) { section, node, reader in
      let files = try PeerCurveSection.read(node, reader, from: .defaults)
      do {
        section[keyPath: path] = try CurveKeyFiles.credentials(gatewayKey: files.gatewayKey, secretKey: files.key)
      } catch {
        throw reader.error(node, "\(error)")
      }
    }
  }
}
