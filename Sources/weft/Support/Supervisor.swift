import Foundation
import WeftProcess
import Logging
import ServiceLifecycle
import Synchronization
import WeftConfiguration
import WeftModels
import WeftProtocol

/// Runs the gateway and worker processes of a mesh, restarts those that exit, and
/// stops them all (SIGTERM, so workers drain) on graceful shutdown.
///
/// The gateway starts first; workers are pointed at the backend endpoint it announces.
/// A child that keeps crashing is restarted with a delay doubling from 0.5 s to 30 s,
/// reset once it has stayed up for a minute.
final class Supervisor: Service, Sendable {
  private let executable: String
  private let configPath: String
  private let mesh: MeshFile
  private let logLevel: Logger.Level
  private let logger: Logger
  private let stopping = Atomic<Bool>(false)
  private let gatewayChild = Mutex<Child?>(nil)

  init(executable: String, configPath: String, mesh: MeshFile, logLevel: Logger.Level, logger: Logger) {
    self.executable = executable
    self.configPath = configPath
    self.mesh = mesh
    self.logLevel = logLevel
    self.logger = logger
  }

  func run() async throws {
    try await withGracefulShutdownHandler {
      try await supervise()
    } onGracefulShutdown: {
      self.stopping.store(true, ordering: .relaxed)
    }
  }

  private func supervise() async throws {
    let gateway = Child(name: "gateway", arguments: ["gateway", "--config", configPath, "--log-level", "\(logLevel)"])
    gatewayChild.withLock { $0 = gateway }
    let backend = try await startGateway(gateway)
    announce("mesh gateway frontend=\(gateway.announced("frontend") ?? "?") backend=\(backend)")

    var children = [gateway]
    // Each child reads its own section of the same file.
    for (index, section) in mesh.workers.enumerated() {
      for replica in 0..<section.replicas {
        let name = "\(section.settings.service ?? section.model)-\(replica + 1)"
        let child = Child(
          name: name,
          arguments: [
            "worker", "--config", configPath, "--worker", "\(index)", "--gateway", backend, "--name", name, "--log-level", "\(logLevel)",
          ])
        try start(child)
        children.append(child)
      }
    }
    if mesh.recommender != nil {
      let child = Child(
        name: "recommender",
        arguments: ["recommender", "--config", configPath, "--gateway", backend, "--name", "recommender", "--log-level", "\(logLevel)"])
      try start(child)
      children.append(child)
    }

    while !stopping.load(ordering: .relaxed) {
      try? await Task.sleep(for: .milliseconds(200))
      for child in children where !child.isRunning && !stopping.load(ordering: .relaxed) {
        if child.restartDue(logger: logger) { try? start(child) }
      }
    }
    await stopAll(children)
  }

  /// Sends `signal` to the gateway process, if it runs.
  func signalGateway(_ signal: Int32) {
    gatewayChild.withLock { child in if let child, child.isRunning { child.signal(signal) } }
  }

  private func startGateway(_ gateway: Child) async throws -> String {
    try start(gateway, readsAnnouncement: true)
    let backend = try await gateway.waitForAnnouncement("backend")
    return backend.replacingOccurrences(of: "0.0.0.0", with: "127.0.0.1")
  }

  private func start(_ child: Child, readsAnnouncement: Bool = false) throws {
    try child.launch(executable: executable, readsAnnouncement: readsAnnouncement)
    logger.info("started", metadata: ["child": "\(child.name)", "pid": "\(child.pid)"])
  }

  private func stopAll(_ children: [Child]) async {
    // Workers first, so they drain while the gateway can still route their replies.
    for child in children.reversed() where child.name != "gateway" { child.signal(SIGTERM) }
    await waitForExit(children.filter { $0.name != "gateway" }, within: .seconds(35))
    for child in children where child.name == "gateway" { child.signal(SIGTERM) }
    await waitForExit(children, within: .seconds(15))
    for child in children where child.isRunning { child.signal(SIGKILL) }
    logger.info("mesh stopped")
  }

  private func waitForExit(_ children: [Child], within limit: Duration) async {
    let deadline = ContinuousClock.now + limit
    while children.contains(where: \.isRunning) && ContinuousClock.now < deadline {
      try? await Task.sleep(for: .milliseconds(50))
    }
  }
}
