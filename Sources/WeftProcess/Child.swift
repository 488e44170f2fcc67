import Foundation
import Logging
import Synchronization
import WeftProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Why a child could not be started or did not become ready.
public struct SupervisorError: Error, CustomStringConvertible {
  /// What went wrong, naming the child.
  public let description: String
  /// Creates an error.
  public init(_ description: String) { self.description = description }
}

/// One supervised process: started with ``launch(executable:readsAnnouncement:)``, its
/// readiness lines read for `key=value` fields, restarted with backoff after a crash.
public final class Child: @unchecked Sendable {
  // @unchecked: mutable fields are guarded by `lock`.
  /// A name for logs.
  public let name: String
  /// Its command-line arguments.
  public let arguments: [String]
  private let lock = NSLock()
  private var process: SpawnedProcess?
  private var startedAt = ContinuousClock.now
  private var restartDelay: Duration = .milliseconds(500)
  private var restartNotBefore: ContinuousClock.Instant?
  private var announced: [String: String] = [:]

  /// A child not started yet.
  public init(name: String, arguments: [String]) {
    self.name = name
    self.arguments = arguments
  }

  /// Waits until the child has announced `key`, or exited, or `timeout` passed.
  public func waitForAnnouncement(_ key: String, timeout: Duration = .seconds(30)) async throws -> String {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      if let value = announced(key) { return value }
      guard isRunning else { throw SupervisorError("\(name) exited before announcing \(key)") }
      try await Task.sleep(for: .milliseconds(20))
    }
    throw SupervisorError("\(name) did not announce \(key) within \(timeout)")
  }

  /// Whether the process runs now.
  public var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }
  /// Its process id (0 before it starts).
  public var pid: Int32 { lock.withLock { process?.pid ?? 0 } }
  /// A `key=value` field the child printed on a readiness line (e.g. `backend`).
  public func announced(_ key: String) -> String? { lock.withLock { announced[key] } }

  /// Starts the process; with `readsAnnouncement`, its stdout is read for `key=value`
  /// fields (and copied to ours), otherwise it shares our stdout.
  public func launch(executable: String, readsAnnouncement: Bool) throws {
    let process = try SpawnedProcess(
      executable: executable, arguments: arguments,
      environment: ProcessInfo.processInfo.environment.merging([exitWithParentVariable: "1"]) { $1 },
      output: readsAnnouncement ? .pipe : .inherit)
    if let output = process.output {
      PipeReader.startLines(output) { [weak self] line in
        guard let line else { return }
        // Relayed on a best-effort basis: if our own stdout is gone (a closed pipe), the
        // child keeps running and its announcements are still read.
        try? FileHandle.standardOutput.write(contentsOf: Data((line + "\n").utf8))
        self?.parseAnnouncement(line)
      }
    }
    lock.withLock {
      self.process = process
      startedAt = .now
      restartNotBefore = nil
    }
  }

  /// Whether a crashed child may be started again now; logs the crash once.
  public func restartDue(logger: Logger) -> Bool {
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

  /// Sends `signal` to the process, if it runs.
  public func signal(_ signal: Int32) {
    lock.withLock {
      if let process, process.isRunning { process.signal(signal) }
    }
  }

  /// Reads the `key=value` fields of one whole stdout line.
  private func parseAnnouncement(_ line: String) {
    for field in line.split(separator: " ") {
      let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2 else { continue }
      lock.withLock { announced[parts[0]] = parts[1] }
    }
  }
}
