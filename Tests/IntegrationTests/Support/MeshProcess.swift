import Foundation
import Synchronization
import WeftClient
import WeftProcess
import WeftProtocol
import ZeroMQ

/// A child process for a test (`weft` unless told otherwise): started with arguments,
/// its stdout read line by line, killed when the test lets go of it.
final class MeshProcess: Sendable {
  let process: SpawnedProcess
  let lines = Mutex<[String]>([])
  /// The last stderr it wrote.
  private let stderrTail = Mutex<String>("")
  /// Lines written to stderr so far (all of them, not only the tail kept in `log`).
  let stderrLines = Mutex(0)
  /// How many of stdout and stderr have reached end of file.
  private let closedPipes = Mutex(0)

  /// The built `weft` executable, next to the test bundle.
  static var executable: String {
    if let path = ProcessInfo.processInfo.environment["WEFT_BINARY"] { return path }
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("weft").path
  }

  init(_ arguments: [String], executable: String = MeshProcess.executable, environment: [String: String] = [:]) throws {
    // Children drain and exit if the test process dies (even by a crash), so none is
    // left serving; `weft` watches its parent when this is set. The CLI looks for this
    // machine's mesh keys only where a test puts them.
    let hermetic = ["WEFT_EXIT_WITH_PARENT": "1", "WEFT_KEYS": "/nonexistent/weft-test-keys"]
    process = try SpawnedProcess(
      executable: executable, arguments: arguments,
      environment: ProcessInfo.processInfo.environment.merging(hermetic) { $1 }.merging(environment) { $1 },
      input: .null, output: .pipe, error: .pipe)
    PipeReader.startLines(process.output!) { [weak self] line in
      if let line { self?.lines.withLock { $0.append(line) } } else { self?.closedPipes.withLock { $0 += 1 } }
    }
    PipeReader.start(process.error!) { [weak self] data, final in
      self?.stderrTail.withLock { $0 = String(($0 + String(decoding: data, as: UTF8.self)).suffix(4_000)) }
      self?.stderrLines.withLock { $0 += data.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 } }
      if final { self?.closedPipes.withLock { $0 += 1 } }
    }
  }

  deinit {
    if process.isRunning { kill(process.pid, SIGKILL) }
  }

  var pid: Int32 { process.pid }

  /// The stderr it wrote lately, for failure messages.
  var log: String { stderrTail.withLock { $0 } }

  /// Waits until its stderr contains `text` (read by a background reader, so a line the
  /// process wrote may not be in ``log`` yet); returns whether it did within `timeout`.
  func waitForLog(containing text: String, timeout: Duration = .seconds(10)) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !log.contains(text) {
      guard ContinuousClock.now < deadline else { return false }
      try? await Task.sleep(for: .milliseconds(10))
    }
    return true
  }

  /// Waits for a stdout line starting with `prefix`.
  func waitForLine(prefix: String, timeout: Duration = .seconds(20)) async throws -> String {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      if let line = lines.withLock({ $0.first { $0.hasPrefix(prefix) } }) { return line }
      guard process.isRunning else { throw TestFailure("process exited before printing '\(prefix)': \(log)") }
      try await Task.sleep(for: .milliseconds(10))
    }
    throw TestFailure("no line '\(prefix)' within \(timeout): \(log)")
  }

  /// Runs `weft` (or `executable`) with `arguments` to completion, at most `timeout`,
  /// and returns what it printed.
  static func run(
    _ arguments: [String], executable: String = MeshProcess.executable, environment: [String: String] = [:],
    timeout: Duration = .seconds(30)
  ) async throws -> (status: Int32, stdout: String, stderr: String) {
    let child = try MeshProcess(arguments, executable: executable, environment: environment)
    guard let status = await child.waitForExit(timeout: timeout) else {
      child.signal(SIGKILL)
      throw TestFailure("\(executable) \(arguments.joined(separator: " ")) did not finish in \(timeout)")
    }
    // Its output is whole once both pipes are closed (a child it started may hold them
    // a little longer; the wait is bounded).
    let drained = ContinuousClock.now + .seconds(5)
    while child.closedPipes.withLock({ $0 }) < 2 && ContinuousClock.now < drained { try await Task.sleep(for: .milliseconds(5)) }
    return (status, child.lines.withLock { $0.joined(separator: "\n") }, child.log)
  }

  /// Sends a signal.
  func signal(_ signal: Int32) { process.signal(signal) }

  /// Waits for the process to exit; returns its status, or nil on timeout.
  func waitForExit(timeout: Duration = .seconds(20)) async -> Int32? {
    let deadline = ContinuousClock.now + timeout
    while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
    return process.terminationStatus
  }
}

struct TestFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// A gateway plus workers on loopback, on ports the OS picks.
final class TestMesh: Sendable {
  let gateway: MeshProcess
  let frontend: String
  let backend: String
  let client: WeftClient
  private let workers = Mutex<[String: MeshProcess]>([:])

  /// Starts a gateway with extra flags and waits until it listens.
  init(gatewayArguments: [String] = [], curve: CurveClientCredentials? = nil) async throws {
    gateway = try MeshProcess(
      ["gateway", "--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*", "--log-level", "warning"]
        + gatewayArguments)
    let line = try await gateway.waitForLine(prefix: "gateway listening")
    let fields = Dictionary(
      line.split(separator: " ").compactMap { field -> (String, String)? in
        let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : nil
      }, uniquingKeysWith: { $1 })
    frontend = fields["frontend"]!
    backend = fields["backend"]!
    client = try WeftClient(gateways: [frontend], curve: curve)
  }

  deinit { client.close() }

  /// A gateway also serving HTTP on a free port, and the HTTP side's base URL.
  static func withHTTP(gatewayArguments: [String] = []) async throws -> (mesh: TestMesh, base: String) {
    let mesh = try await TestMesh(gatewayArguments: ["--http", "127.0.0.1:0"] + gatewayArguments)
    let line = try await mesh.gateway.waitForLine(prefix: "gateway http listening")
    guard let address = line.split(separator: " ").first(where: { $0.hasPrefix("address=") })?.dropFirst("address=".count) else {
      throw TestFailure("no address in '\(line)'")
    }
    return (mesh, "http://\(address)")
  }

  /// Starts a worker and waits until the gateway lists it.
  @discardableResult
  func startWorker(name: String, _ arguments: [String]) async throws -> MeshProcess {
    try await startRegistered("worker", name: name, arguments)
  }

  /// Starts `weft recommender` and waits until the gateway lists it.
  @discardableResult
  func startRecommender(name: String, _ arguments: [String]) async throws -> MeshProcess {
    try await startRegistered("recommender", name: name, arguments)
  }

  /// Starts a command that registers like a worker and waits until the gateway lists it.
  private func startRegistered(_ command: String, name: String, _ arguments: [String]) async throws -> MeshProcess {
    let worker = try MeshProcess(
      [command, "--gateway", backend, "--name", name, "--log-level", "warning"] + arguments)
    workers.withLock { $0[name] = worker }
    _ = try await worker.waitForLine(prefix: "\(command) ready")
    try await waitUntil("gateway lists worker \(name)") { status in
      status.services.contains { $0.versions.contains { $0.workers.contains { $0.name == name } } }
    }
    return worker
  }

  /// Polls the gateway's status until `condition` holds.
  func waitUntil(_ what: String, timeout: Duration = .seconds(20), _ condition: (MeshStatus) -> Bool) async throws {
    try await MeshView(client: client).waitUntil(what, timeout: timeout, condition)
  }

  /// The worker process started as `name`.
  func worker(named name: String) -> MeshProcess? { workers.withLock { $0[name] } }

  /// The current status.
  func status() async throws -> MeshStatus { try await client.meshStatus() }
}

extension MeshStatus {
  /// The worker named `name`, if listed.
  func worker(named name: String) -> Weft_V1_WorkerStatus? {
    for service in services {
      for version in service.versions {
        if let worker = version.workers.first(where: { $0.name == name }) { return worker }
      }
    }
    return nil
  }
}

/// Runs `count` calls with at most `concurrency` in flight; returns each result in order.
func runCalls(
  _ count: Int, concurrency: Int, _ call: @escaping @Sendable (Int) async -> Result<Response, WeftError>
) async -> [Result<Response, WeftError>] {
  await withTaskGroup(of: (Int, Result<Response, WeftError>).self) { group in
    var results = [Result<Response, WeftError>?](repeating: nil, count: count)
    var next = 0
    while next < min(concurrency, count) {
      let index = next
      group.addTask { (index, await call(index)) }
      next += 1
    }
    for await (index, result) in group {
      results[index] = result
      if next < count {
        let index = next
        group.addTask { (index, await call(index)) }
        next += 1
      }
    }
    return results.map { $0! }
  }
}

extension WeftClient {
  /// A call whose failure is a value, for tests that count outcomes.
  func result(_ service: String, _ method: String, body: [Data] = [], options: CallOptions = CallOptions()) async
    -> Result<Response, WeftError>
  {
    do {
      return .success(try await call(service, method, body: body, options: options))
    } catch let error as WeftError {
      return .failure(error)
    } catch {
      return .failure(WeftError(.unknown, "\(error)"))
    }
  }
}
