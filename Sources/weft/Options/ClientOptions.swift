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

  @Option(help: "CURVE: the gateway's NAME.key file (with --key).")
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
  /// handshake.
  ///
  /// - Throws: `UNAVAILABLE` naming the endpoints and how to start a mesh, when none
  ///   answers within 3 s (or the deadline, if shorter).
  func connect(only: String? = nil) throws -> WeftClient {
    let endpoints = only.map { [$0] } ?? gateways
    let wait = min(timeoutMs, Self.connectTimeoutMs)
    var curve: CurveClientCredentials?
    if let gatewayKey, let key { curve = try CurveKeyFiles.credentials(gatewayKey: gatewayKey, secretKey: key) }
    guard try !WeftClient.answeringGateways(endpoints, within: .milliseconds(wait), curve: curve).isEmpty else {
      throw WeftError(
        .unavailable,
        "no gateway answered at \(endpoints.joined(separator: ", ")) within \(wait) ms; start a mesh with "
          + "./scripts/run-mesh.sh (or `weft up`), or name its frontend with --gateway"
          + (curve == nil ? "" : " (with CURVE, also check that the gateway lists this client's key)"))
    }
    return try WeftClient(gateways: endpoints, curve: curve)
  }
}
