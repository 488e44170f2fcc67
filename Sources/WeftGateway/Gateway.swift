import Foundation
import Logging
import ServiceLifecycle
import WeftProtocol
import Synchronization
import ZeroMQ

/// The Weft gateway: routes client requests to workers over ZeroMQ.
///
/// `run()` binds both sockets, serves on one dedicated thread until graceful shutdown,
/// then stops admitting requests, lets in-flight ones finish (up to the drain timeout)
/// and returns. Run it in a `ServiceGroup`, or call `run()` and `shutdown()` directly.
public final class Gateway: Service, Sendable {
  /// The endpoints actually bound (wildcard ports resolved).
  public struct Endpoints: Sendable, Equatable {
    /// Where clients connect.
    public var frontend: String
    /// Where workers connect.
    public var backend: String
  }

  private let configuration: GatewayConfiguration
  private let logger: Logger
  /// The ZeroMQ context its sockets live in; a client in the same process reaches the
  /// gateway through it at ``inProcessEndpoint``.
  public let context: Context
  /// Where a client in this process, on ``context``, reaches the client port without
  /// TCP (the HTTP front door). With CURVE on, such a client is trusted as an admin:
  /// only code in the gateway's own process can connect there.
  public let inProcessEndpoint = "inproc://weft-gateway-\(UUID().uuidString)"
  private let control: GatewayControl
  private let onListening: @Sendable (Endpoints) -> Void

  /// Creates a gateway.
  /// - Parameters:
  ///   - configuration: endpoints, timeouts and limits.
  ///   - logger: where the gateway logs; per-request events are at `debug`.
  ///   - onListening: called once both sockets are bound, with the resolved endpoints.
  public convenience init(
    configuration: GatewayConfiguration, logger: Logger,
    onListening: @escaping @Sendable (Endpoints) -> Void = { _ in }
  ) throws {
    try self.init(configuration: configuration, context: try Context(), logger: logger, onListening: onListening)
  }

  /// Creates a gateway whose sockets live in `context`, so peers in the same process can
  /// reach it over `inproc://` endpoints (in-process tests, embedding).
  public init(
    configuration: GatewayConfiguration, context: Context, logger: Logger,
    onListening: @escaping @Sendable (Endpoints) -> Void = { _ in }
  ) throws {
    self.configuration = configuration
    self.logger = logger
    self.onListening = onListening
    self.context = context
    control = try GatewayControl()
  }

  /// Serves until graceful shutdown or `shutdown()`.
  public func run() async throws {
    try await withGracefulShutdownHandler {
      try await runLoopThread()
    } onGracefulShutdown: {
      self.shutdown()
    }
  }

  /// Asks the gateway to drain and stop; returns at once.
  public func shutdown() { control.requestStop() }

  /// Replaces every routing policy (e.g. the config file's, reloaded on SIGHUP); returns
  /// at once. Services whose policy is unchanged keep their state; a policy that fails
  /// its checks is logged and skipped.
  public func replaceRoutes(_ policies: [RoutePolicy]) { control.submitRoutes(policies) }

  /// Reads the CURVE key directories again (e.g. on SIGHUP); returns at once. A key
  /// removed is refused from then on, also on connections it already has.
  public func reloadKeys() { control.requestKeyReload() }

  private func runLoopThread() async throws {
    let configuration = configuration
    let logger = logger
    let context = context
    let control = control
    let onListening = onListening
    let inProcessEndpoint = inProcessEndpoint
    try await runOnDedicatedThread(named: "weft-gateway") {
      let loop = try GatewayLoop(
        configuration: configuration, context: context, control: control, inProcessEndpoint: inProcessEndpoint, logger: logger)
      onListening(loop.endpoints)
      try loop.run()
    }
  }
}

/// How other threads talk to the loop thread: flags and a mailbox, plus a wake-up.
final class GatewayControl: Sendable {
  let wake: WakeSignal
  private let stopRequested = Atomic<Bool>(false)
  private let keyReloadRequested = Atomic<Bool>(false)
  private let pendingRoutes = Mutex<[RoutePolicy]?>(nil)

  /// Leaves a new set of policies for the loop; a later set replaces one not yet taken.
  func submitRoutes(_ policies: [RoutePolicy]) {
    pendingRoutes.withLock { $0 = policies }
    wake.signal()
  }

  /// The policies left since the last call, if any.
  func takeRoutes() -> [RoutePolicy]? { pendingRoutes.withLock { pending in defer { pending = nil }; return pending } }

  init() throws { wake = try WakeSignal() }

  func requestKeyReload() {
    keyReloadRequested.store(true, ordering: .releasing)
    wake.signal()
  }

  /// Whether a key reload was asked for since the last call.
  func takeKeyReload() -> Bool { keyReloadRequested.exchange(false, ordering: .acquiring) }

  func requestStop() {
    stopRequested.store(true, ordering: .releasing)
    wake.signal()
  }

  var isStopRequested: Bool { stopRequested.load(ordering: .acquiring) }
}
