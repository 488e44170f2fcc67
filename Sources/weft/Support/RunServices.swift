import Logging
import ServiceLifecycle
import UnixSignals

/// Runs a service until SIGTERM or SIGINT asks it to shut down gracefully.
func runUntilSignalled(_ service: some Service, logger: Logger) async throws {
  let group = ServiceGroup(
    configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
  try await group.run()
}
