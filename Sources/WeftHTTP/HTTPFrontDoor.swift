import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import WeftClient
import WeftProtocol

/// The gateway's HTTP side: Prometheus metrics, health, and the Open Inference Protocol's
/// model endpoints (docs/HTTP.md), served beside the gateway in its process.
///
/// It talks to the gateway loop the way any client would, in-process: an inference is a
/// mesh call, and a scrape or probe asks for `weft.mesh/status`, so the loop keeps one
/// thread and no lock.
public final class HTTPFrontDoor: Service, Sendable {
  private let address: HTTPAddress
  private let mesh: WeftClient
  private let limits: HTTPLimits
  private let tokens: BearerTokens?
  private let metrics: MeshMetrics
  private let logger: Logger
  private let onListening: @Sendable (String) -> Void

  /// Makes swift-metrics in this process record into what `/metrics` serves: call it
  /// before creating the ``Gateway``, whose duration timers are made with their version.
  public static func bootstrapMetrics() { MeshMetrics.bootstrap() }

  /// How long a probe or scrape waits for the gateway loop before it answers 503.
  static let gatewayTimeout: Duration = .seconds(2)

  /// Creates the front door.
  /// - Parameters:
  ///   - address: `host:port` to listen on (port 0: any free port).
  ///   - mesh: a client of the gateway this front door stands for.
  ///   - limits: bounds on request bodies, connections and deadlines.
  ///   - tokens: the bearer tokens the model endpoints need; nil: they are open.
  ///   - onListening: called with the address (`host:port`, the port resolved) once the
  ///     server listens.
  public init(address: String, mesh: WeftClient, limits: HTTPLimits = HTTPLimits(), tokens: BearerTokens? = nil, logger: Logger, onListening: @escaping @Sendable (String) -> Void = { _ in }) throws {
    self.address = try HTTPAddress(address)
    self.mesh = mesh
    self.limits = limits
    self.tokens = tokens
    self.logger = logger
    self.onListening = onListening
    metrics = MeshMetrics.shared
  }

  /// Serves until graceful shutdown.
  public func run() async throws {
    let router = Router()
    let mesh = mesh
    let metrics = metrics
    router.get("/metrics") { _, _ -> Response in
      metrics.prometheusResponse(after: try? await mesh.meshStatus(timeout: Self.gatewayTimeout), ofGateway: true)
    }
    router.get("/v2/health/live") { _, _ -> Response in
      let answered = (try? await mesh.meshStatus(timeout: Self.gatewayTimeout)) != nil
      return JSONReply.make(answered ? .ok : .serviceUnavailable, ["live": answered])
    }
    router.get("/v2/health/ready") { _, _ -> Response in
      guard let status = try? await mesh.meshStatus(timeout: Self.gatewayTimeout) else {
        return JSONReply.make(.serviceUnavailable, ["ready": false], error: "the gateway did not answer")
      }
      let readiness = Readiness(status)
      return JSONReply.make(readiness.isReady ? .ok : .serviceUnavailable, ["ready": readiness.isReady], error: readiness.problem)
    }
    router.get("/v2") { _, _ -> Response in
      JSONReply.make(.ok, ["name": "weft", "version": WeftVersion.current, "extensions": ["binary_tensor_data", "parameters"]])
    }
    InferenceEndpoints(mesh: mesh, limits: limits, tokens: tokens).register(on: router)
    try await address.serve(router, idleTimeout: limits.idleTimeout, logger: logger, onListening: onListening)
  }
}
