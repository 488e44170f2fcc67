import Hummingbird
import Logging
import ServiceLifecycle
import WeftProtocol

/// `/metrics` and `/v2/health/live` for a process that is not a gateway (`weft recommender
/// --http`): what the process records through swift-metrics, and its RSS, CPU and files.
public final class MetricsEndpoint: Service, Sendable {
  private let address: HTTPAddress
  private let logger: Logger
  private let onListening: @Sendable (String) -> Void

  /// Makes swift-metrics in this process record into what `/metrics` serves: call it
  /// before creating what records (its metrics are made when it is).
  public static func bootstrapMetrics() { MeshMetrics.bootstrap() }

  /// Creates the endpoint on `address` (`host:port`, port 0: any free one); `onListening`
  /// gets the address with the port resolved.
  public init(address: String, logger: Logger, onListening: @escaping @Sendable (String) -> Void = { _ in }) throws {
    self.address = try HTTPAddress(address)
    self.logger = logger
    self.onListening = onListening
  }

  /// Serves until graceful shutdown.
  public func run() async throws {
    let router = Router()
    router.get("/metrics") { _, _ in MeshMetrics.shared.prometheusResponse(after: nil, ofGateway: false) }
    router.get("/v2/health/live") { _, _ in JSONReply.make(.ok, ["live": true]) }
    let (onListening, host) = (onListening, address.host)
    let app = Application(
      router: router, configuration: .init(address: .hostname(host, port: address.port), serverName: "weft"),
      onServerRunning: { channel in onListening("\(host):\(channel.localAddress?.port ?? 0)") }, logger: logger)
    try await app.runService()
  }
}

/// `host:port` for an HTTP listener, checked.
struct HTTPAddress: Sendable {
  let host: String
  let port: Int

  init(_ address: String) throws {
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65_535).contains(port)
    else { throw ConfigurationError("HTTP address '\(address)' is not host:port") }
    host = String(address[..<colon])
    self.port = port
  }
}
