import Hummingbird
import Logging
import ServiceLifecycle

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
    try await address.serve(router, idleTimeout: nil, logger: logger, onListening: onListening)
  }
}
