import Logging
import ServiceLifecycle
import UnixSignals

/// Runs services until SIGTERM or SIGINT asks them to shut down gracefully (the last
/// one first).
func runUntilSignalled(_ services: any Service..., logger: Logger) async throws {
  let group = ServiceGroup(
    configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
  try await group.run()
}
