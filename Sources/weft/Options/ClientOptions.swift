import ArgumentParser
import WeftClient
import WeftGateway
import WeftProtocol
import ZeroMQ

/// `--gateway` and `--timeout-ms`, shared by the commands that call a mesh.
struct ClientOptions: ParsableArguments {
  @Option(name: .customLong("gateway"), help: "Gateway frontend endpoint; repeat for several.")
  var gateways: [String] = ["tcp://127.0.0.1:5555"]

  @Option(help: "Deadline of the call in milliseconds.")
  var timeoutMs: Int = 30_000

  @Option(help: "CURVE: the gateway's NAME.key file (with --key). Without both, the keys in $WEFT_KEYS or ~/.local/state/weft/keys are tried first, if there.")
  var gatewayKey: String?
  @Option(help: "CURVE: this client's NAME.secret file (with --gateway-key).")
  var key: String?

  /// How long a command waits for a gateway to answer at all before it gives up, unless
  /// its deadline is shorter: a missing mesh is said at once, not at the deadline.
  static let connectTimeoutMs = 3_000

  func validate() throws {
    guard timeoutMs > 0 else { throw ValidationError("--timeout-ms must be positive") }
    guard (gatewayKey == nil) == (key == nil) else { throw ValidationError("--gateway-key and --key go together") }
  }

  /// A client of `gateways` (or of `only`), once one of them has answered a ZeroMQ
  /// handshake: with the keys the flags name; without flags, with this machine's mesh
  /// keys (``MeshKeys/defaultDirectory``) if it has them, else in plaintext.
  ///
  /// - Throws: `UNAVAILABLE` naming the endpoints and how to start a mesh, when none
  ///   answers within 3 s (or the deadline, if shorter).
  func connect(only: String? = nil) throws -> WeftClient {
    let endpoints = only.map { [$0] } ?? gateways
    let wait = min(timeoutMs, Self.connectTimeoutMs)
    let candidates = try credentialsToTry()
    for curve in candidates where try !WeftClient.answeringGateways(endpoints, within: .milliseconds(wait), curve: curve).isEmpty {
      return try WeftClient(gateways: endpoints, curve: curve)
    }
    throw WeftError(
      .unavailable,
      "no gateway answered at \(endpoints.joined(separator: ", ")) within \(wait) ms; start a mesh with "
        + "./scripts/run-mesh.sh (or `weft up`), or name its frontend with --gateway"
        + (candidates.contains { $0 != nil } ? " (with CURVE, also check that the gateway lists this client's key)" : ""))
  }

  /// The flags' keys; or this machine's mesh admin keys, then none.
  private func credentialsToTry() throws -> [CurveClientCredentials?] {
    if let gatewayKey, let key { return [try CurveKeyFiles.credentials(gatewayKey: gatewayKey, secretKey: key)] }
    let local = MeshKeys(directory: MeshKeys.defaultDirectory)
    guard local.exist, let admin = try? local.adminCredentials() else { return [nil] }
    return [admin, nil]
  }
}
