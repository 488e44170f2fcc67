import Foundation
import Logging
import ServiceLifecycle
import Synchronization
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
  private let mesh: MeshConfiguration
  private let logLevel: Logger.Level
  private let logger: Logger
  private let stopping = Atomic<Bool>(false)
  private let gatewayChild = Mutex<Child?>(nil)

  init(executable: String, configPath: String, mesh: MeshConfiguration, logLevel: Logger.Level, logger: Logger) {
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
    for section in mesh.workers {
      for replica in 0..<(section.replicas ?? 1) {
        let name = "\(section.service ?? section.model)-\(replica + 1)"
        let child = Child(
          name: name,
          arguments: ["worker"] + section.arguments + ["--gateway", backend, "--name", name, "--log-level", "\(logLevel)"])
        try start(child)
        children.append(child)
      }
    }
    if let recommender = mesh.recommender {
      let child = Child(
        name: "recommender",
        arguments: ["recommender"] + recommender.arguments + ["--gateway", backend, "--name", "recommender", "--log-level", "\(logLevel)"])
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

struct SupervisorError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// One supervised process.
final class Child: @unchecked Sendable {
  // @unchecked: mutable fields are guarded by `lock`.
  let name: String
  let arguments: [String]
  private let lock = NSLock()
  private var process: Process?
  private var startedAt = ContinuousClock.now
  private var restartDelay: Duration = .milliseconds(500)
  private var restartNotBefore: ContinuousClock.Instant?
  private var announced: [String: String] = [:]

  init(name: String, arguments: [String]) {
    self.name = name
    self.arguments = arguments
  }

  /// Waits until the child has announced `key`, or exited, or `timeout` passed.
  func waitForAnnouncement(_ key: String, timeout: Duration = .seconds(30)) async throws -> String {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      if let value = announced(key) { return value }
      guard isRunning else { throw SupervisorError("\(name) exited before announcing \(key)") }
      try await Task.sleep(for: .milliseconds(20))
    }
    throw SupervisorError("\(name) did not announce \(key) within \(timeout)")
  }

  var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }
  var pid: Int32 { lock.withLock { process?.processIdentifier ?? 0 } }
  /// A `key=value` field the child printed on a readiness line (e.g. `backend`).
  func announced(_ key: String) -> String? { lock.withLock { announced[key] } }

  /// Starts the process; with `readsAnnouncement`, its stdout is read for `key=value`
  /// fields (and copied to ours), otherwise it shares our stdout.
  func launch(executable: String, readsAnnouncement: Bool) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging([exitWithParentVariable: "1"]) { $1 }
    let pipe = readsAnnouncement ? Pipe() : nil
    if let pipe { process.standardOutput = pipe }
    try process.run()
    if let pipe {
      PipeReader.start(pipe.fileHandleForReading) { [weak self] data, final in
        guard !final else { return }
        // Relayed on a best-effort basis: if our own stdout is gone (a closed pipe), the
        // child keeps running and its announcements are still read.
        try? FileHandle.standardOutput.write(contentsOf: data)
        self?.parseAnnouncement(String(decoding: data, as: UTF8.self))
      }
    }
    lock.withLock {
      self.process = process
      startedAt = .now
      restartNotBefore = nil
    }
  }

  /// Whether a crashed child may be started again now; logs the crash once.
  func restartDue(logger: Logger) -> Bool {
    lock.withLock {
      let now = ContinuousClock.now
      if let notBefore = restartNotBefore { return now >= notBefore }
      let status = process?.terminationStatus ?? -1
      if now - startedAt > .seconds(60) { restartDelay = .milliseconds(500) }
      logger.warning("child exited; restarting", metadata: ["child": "\(name)", "status": "\(status)", "in": "\(restartDelay)"])
      restartNotBefore = now + restartDelay
      restartDelay = min(restartDelay * 2, .seconds(30))
      return false
    }
  }

  func signal(_ signal: Int32) {
    lock.withLock {
      if let process, process.isRunning { kill(process.processIdentifier, signal) }
    }
  }

  private func parseAnnouncement(_ text: String) {
    for line in text.split(separator: "\n") {
      for field in line.split(separator: " ") {
        let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { continue }
        lock.withLock { announced[parts[0]] = parts[1] }
      }
    }
  }
}
