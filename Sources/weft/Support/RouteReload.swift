import Logging
import UnixSignals
import WeftConfiguration
import WeftGateway
import WeftProtocol

/// Runs `body` while SIGHUP is trapped, calling `onHangup` for each one. The trap is in
/// place before `body` starts, so a SIGHUP right after start-up never kills the process.
func whileHandlingHangups(
  onHangup: @escaping @Sendable () async -> Void, _ body: () async throws -> Void
) async throws {
  let hangups = await UnixSignalsSequence(trapping: .sighup)
  try await withThrowingDiscardingTaskGroup { group in
    group.addTask {
      for await _ in hangups { await onHangup() }
    }
    try await body()
    group.cancelAll()
  }
}

/// The routes of the config file at `path`, or nil (logged) if it cannot be read: a
/// broken edit keeps the policies the gateway has.
func reloadRoutes(from path: String, logger: Logger) -> [RoutePolicy]? {
  do {
    let policies = try MeshFile.load(path: path).gateway.routes
    logger.info("routes reloaded", metadata: ["config": "\(path)", "services": "\(policies.map(\.service))"])
    return policies
  } catch {
    logger.error("routes not reloaded; keeping the current ones", metadata: ["error": "\(error)"])
    return nil
  }
}
