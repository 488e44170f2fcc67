import ArgumentParser
import WeftProcess
import Logging
import WeftConfiguration
import WeftClient
import WeftGateway
import WeftHTTP

/// `weft gateway`: runs a gateway until SIGTERM or SIGINT.
struct GatewayCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gateway", abstract: "Run a gateway: clients on the frontend, workers on the backend.")

  @Option(help: "Mesh config file (YAML); its `gateway:` and `routes:` sections are used, the routes read again on SIGHUP. Flags override it.")
  var config: String?
  @Option(help: "Client endpoint to bind (default tcp://127.0.0.1:5555: loopback only, unless CURVE is on or this says otherwise).")
  var frontend: String?
  @Option(help: "Worker endpoint to bind (default tcp://127.0.0.1:5556).")
  var backend: String?
  @Option(help: "Heartbeat interval in milliseconds for workers that advertise none.")
  var heartbeatMs: Int?
  @Option(help: "Most requests queued per service before RESOURCE_EXHAUSTED.")
  var queueLimit: Int?
  @Option(help: "Deadline in milliseconds for requests that set none.")
  var defaultTimeoutMs: Int?
  @Option(help: "Largest request body in bytes; larger gets RESOURCE_EXHAUSTED.")
  var maxRequestBytes: Int?
  @Option(help: "Under light load, microseconds the gateway polls its sockets before it sleeps (0: always sleep; costs CPU for latency).")
  var busyPollUs: Int?
  @Option(help: "host:port to serve metrics and health over HTTP on (port 0: any free one).")
  var http: String?
  @Option(help: "Directory of NAME.token files the HTTP side's model endpoints accept as bearer tokens.")
  var httpTokens: String?
  @Option(help: "Milliseconds an HTTP request's body has to arrive before it gets 408.")
  var httpBodyTimeoutMs: Int?
  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    let range = GatewayConfiguration.busyPollRange
    if let busyPollUs, !range.contains(busyPollUs) {
      throw ValidationError("--busy-poll-us must be from \(range.lowerBound) to \(range.upperBound)")
    }
  }

  func run() async throws {
    let logger = logging.bootstrap(label: "weft.gateway")
    exitWithParentIfSupervised()
    var configuration = try config.map { try MeshFile.load(path: $0).gateway } ?? GatewayConfiguration()
    if let frontend { configuration.frontend = frontend }
    if let backend { configuration.backend = backend }
    if let heartbeatMs { configuration.heartbeatInterval = .milliseconds(heartbeatMs) }
    if let queueLimit { configuration.queueLimit = queueLimit }
    if let defaultTimeoutMs { configuration.defaultTimeout = .milliseconds(defaultTimeoutMs) }
    if let maxRequestBytes { configuration.maxRequestBytes = maxRequestBytes }
    if let busyPollUs { configuration.busyPoll = .microseconds(busyPollUs) }
    if let http { configuration.http = http }
    if let httpTokens { configuration.httpTokens = httpTokens }
    if let httpBodyTimeoutMs { configuration.httpBodyTimeout = .milliseconds(httpBodyTimeoutMs) }

    if configuration.http != nil { HTTPFrontDoor.bootstrapMetrics() }
    let gateway = try Gateway(configuration: configuration, logger: logger) { endpoints in
      announce("gateway listening frontend=\(endpoints.frontend) backend=\(endpoints.backend)")
    }
    let config = config
    let tokens = try configuration.http == nil ? nil : configuration.effectiveHTTPTokens.map { try BearerTokens(directory: $0, logger: logger) }
    try await whileHandlingHangups {
      // SIGHUP: the config file's routes replace the current ones; the key and token directories are read again.
      if let config, let routes = reloadRoutes(from: config, logger: logger) { gateway.replaceRoutes(routes) }
      gateway.reloadKeys()
      tokens?.reload()
    } _: {
      guard let address = configuration.http else { return try await runUntilSignalled(gateway, logger: logger) }
      if tokens == nil, !["127.0.0.1:", "localhost:", "[::1]:"].contains(where: address.hasPrefix) {
        logger.warning("HTTP on \(address) without bearer tokens: anyone who reaches it can call every model (docs/SECURITY.md, gateway.http_tokens)")
      }
      let frontDoor = try HTTPFrontDoor(
        address: address, mesh: try WeftClient(inProcessGateway: gateway.inProcessEndpoint, context: gateway.context),
        limits: HTTPLimits(configuration), tokens: tokens, logger: logger
      ) { listening in
        announce("gateway http listening address=\(listening)")
      }
      try await runUntilSignalled(gateway, frontDoor, logger: logger)
    }
  }
}
