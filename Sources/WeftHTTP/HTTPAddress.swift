import Hummingbird
import Logging
import WeftProtocol

/// `host:port` for an HTTP listener, checked, and the one way Weft's HTTP servers start.
struct HTTPAddress: Sendable {
  let host: String
  let port: Int

  init(_ address: String) throws {
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65_535).contains(port)
    else { throw ConfigurationError("HTTP address '\(address)' is not host:port") }
    host = String(address[..<colon])
    self.port = port
  }

  /// Serves `router` here over HTTP/1.1 until graceful shutdown, closing connections idle
  /// for `idleTimeout` (nil: never); `onListening` gets `host:port` with the port resolved.
  func serve(
    _ router: Router<BasicRequestContext>, idleTimeout: Duration?, logger: Logger, onListening: @escaping @Sendable (String) -> Void
  ) async throws {
    let host = host
    let app = Application(
      router: router,
      server: .http1(configuration: .init(idleTimeout: idleTimeout.map { .nanoseconds(Int64($0 / .nanoseconds(1))) })),
      configuration: .init(address: .hostname(host, port: port), serverName: "weft"),
      onServerRunning: { channel in onListening("\(host):\(channel.localAddress?.port ?? 0)") }, logger: logger)
    try await app.runService()
  }
}
