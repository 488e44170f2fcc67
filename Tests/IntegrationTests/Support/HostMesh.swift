import Foundation
import Synchronization
import WeftClient
import WeftNetworkLab
import WeftProtocol
import ZeroMQ

/// A mesh spread over the hosts of a ``TestNetwork``: gateways on some hosts, workers on
/// others, each a real `weft` process on its host's own address; the test process is a
/// client on the same network. With `keys`, every link runs over CURVE.
final class HostMesh: Sendable {
  static let frontendPort = 5555
  static let backendPort = 5556

  let network: TestNetwork
  /// The hosts gateways run on, by index into `network.hosts`.
  let gatewayHosts: [Int]
  private let gatewayArguments: [String]
  private let security: Security?
  private let gateways = Mutex<[Int: MeshProcess]>([:])
  private let workers = Mutex<[String: MeshProcess]>([:])

  /// CURVE settings for each kind of process.
  struct Security: Sendable {
    let gatewayArguments: [String]
    let workerArguments: [String]
    let client: CurveClientCredentials
  }

  /// Starts a gateway on each of `gatewayHosts` and waits until they listen.
  init(network: TestNetwork, gatewayHosts: [Int], gatewayArguments: [String] = [], keys: SecurityTests.Keys? = nil) async throws {
    self.network = network
    self.gatewayHosts = gatewayHosts
    self.gatewayArguments = gatewayArguments
    security = try keys.map { keys in
      Security(
        gatewayArguments: ["--config", keys.config],
        workerArguments: ["--gateway-key", keys.path("gw/gateway.key"), "--key", keys.path("workers/wally.secret")],
        client: try keys.credentials("admins", "bob"))
    }
    for host in gatewayHosts { try await startGateway(onHost: host) }
  }

  /// The gateways' frontends, in `gatewayHosts` order.
  var frontends: [String] { gatewayHosts.map { network.hosts[$0].endpoint(port: Self.frontendPort) } }
  /// The gateways' backends, in `gatewayHosts` order.
  var backends: [String] { gatewayHosts.map { network.hosts[$0].endpoint(port: Self.backendPort) } }

  /// The CURVE flags a client process needs, none without CURVE.
  var clientCredentials: CurveClientCredentials? { security?.client }

  /// (Re)starts the gateway on host `index` and waits until it listens.
  @discardableResult
  func startGateway(onHost index: Int) async throws -> MeshProcess {
    let host = network.hosts[index]
    let gateway = try host.start(
      [
        "gateway", "--frontend", host.endpoint(port: Self.frontendPort), "--backend", host.endpoint(port: Self.backendPort),
        "--log-level", "warning",
      ] + (security?.gatewayArguments ?? []) + gatewayArguments)
    gateways.withLock { $0[index] = gateway }
    _ = try await gateway.waitForLine(prefix: "gateway listening")
    return gateway
  }

  /// The gateway process on host `index`.
  func gateway(onHost index: Int) -> MeshProcess? { gateways.withLock { $0[index] } }

  /// Starts a worker on host `index`, registered with every gateway, and waits until
  /// each gateway lists it.
  @discardableResult
  func startWorker(onHost index: Int, name: String, _ arguments: [String]) async throws -> MeshProcess {
    let worker = try network.hosts[index].start(
      ["worker"] + backends.flatMap { ["--gateway", $0] } + (security?.workerArguments ?? [])
        + ["--name", name, "--log-level", "warning"] + arguments)
    workers.withLock { $0[name] = worker }
    _ = try await worker.waitForLine(prefix: "worker ready", timeout: .seconds(60))
    for frontend in frontends {
      try await waitUntil("\(frontend) lists worker \(name)", gateway: frontend) { $0.worker(named: name) != nil }
    }
    return worker
  }

  /// The worker process started as `name`.
  func worker(named name: String) -> MeshProcess? { workers.withLock { $0[name] } }

  /// A client of the given gateways (all of them by default), from the test process.
  func client(_ frontends: [String]? = nil) throws -> WeftClient {
    try WeftClient(gateways: frontends ?? self.frontends, curve: security?.client)
  }

  /// Polls one gateway's status until `condition` holds.
  func waitUntil(
    _ what: String, gateway frontend: String, timeout: Duration = .seconds(20), _ condition: (MeshStatus) -> Bool
  ) async throws {
    let client = try client([frontend])
    defer { client.close() }
    try await MeshView(client: client).waitUntil(what, timeout: timeout, condition)
  }
}
