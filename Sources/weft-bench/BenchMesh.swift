import Foundation
import WeftClient
import WeftProtocol
import ZeroMQ
import WeftProcess

#if canImport(Glibc)
import Glibc
#endif

/// A gateway and its workers on loopback ports the OS picks, started for a benchmark and
/// killed by ``stop()``.
struct BenchMesh {
  let gateway: Child
  let workers: [Child]
  /// The gateway's client endpoint.
  let frontend: String

  /// The first worker.
  var worker: Child { workers[0] }

  /// This `weft-bench` executable, which starts the baseline peers (`bench-proxy`,
  /// `bench-echo-peer`).
  static func executable() throws -> String {
    try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
  }

  /// The `weft` executable built beside this one, which runs the gateways and workers.
  static func weftExecutable() throws -> String {
    let weft = URL(fileURLWithPath: try executable()).deletingLastPathComponent().appendingPathComponent("weft").path
    guard FileManager.default.isExecutableFile(atPath: weft) else {
      throw BenchError("no weft binary beside weft-bench at \(weft): build both (swift build -c release)")
    }
    return weft
  }

  /// Starts a gateway and `weft worker` with `workerArguments` behind it; returns once
  /// the worker has registered.
  static func start(worker workerArguments: [String]) async throws -> BenchMesh {
    try await start(workers: [workerArguments])
  }

  /// Starts a gateway and one `weft worker` per argument list behind it; returns once
  /// they have registered.
  static func start(workers workerArguments: [[String]]) async throws -> BenchMesh {
    try await start(processes: workerArguments.map { ["worker"] + $0 })
  }

  /// Starts a gateway and, behind it, one process per argument list (a `weft`
  /// subcommand that registers like a worker, and its flags), all run by `weft` (by
  /// default the one beside this executable); returns once they have registered.
  static func start(
    processes workerArguments: [[String]], gatewayArguments: [String] = [], curve: CurveClientCredentials? = nil,
    weft: String? = nil
  ) async throws -> BenchMesh {
    let executable = try weft ?? weftExecutable()
    let quiet = ["--log-level", "error"]
    let gateway = Child(
      name: "gateway", arguments: ["gateway", "--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*"] + quiet + gatewayArguments)
    try gateway.launch(executable: executable, readsAnnouncement: true)
    var workers: [Child] = []
    do {
      let backend = try await gateway.waitForAnnouncement("backend")
      for (index, arguments) in workerArguments.enumerated() {
        let started = Child(name: "worker-\(index + 1)", arguments: arguments + ["--gateway", backend] + quiet)
        workers.append(started)
        try started.launch(executable: executable, readsAnnouncement: true)
        _ = try await started.waitForAnnouncement("name")
      }
      let frontend = try await gateway.waitForAnnouncement("frontend")
      try await waitUntilRegistered(workers.count, frontend: frontend, curve: curve)
      return BenchMesh(gateway: gateway, workers: workers, frontend: frontend)
    } catch {
      for child in workers + [gateway] { child.signal(SIGKILL) }
      throw error
    }
  }

  /// Waits until the gateway lists `count` workers (their READY has arrived), up to 30 s.
  static func waitUntilRegistered(_ count: Int, frontend: String, curve: CurveClientCredentials?) async throws {
    let client = try WeftClient(gateways: [frontend], curve: curve)
    defer { client.close() }
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
      let status = try? await client.meshStatus(timeout: .seconds(1))
      if let status, status.services.reduce(0, { $0 + $1.versions.reduce(0) { $0 + $1.workers.count } }) >= count { return }
      try await Task.sleep(for: .milliseconds(20))
    }
    throw BenchError("the workers did not register with the gateway within 30 s")
  }

  /// Kills every process.
  func stop() { for child in workers + [gateway] { child.signal(SIGKILL) } }
}

/// Runs a program to completion and returns its standard output; `input` is written to
/// its standard input first. Throws ``BenchError`` naming `what` if it fails.
func benchSubprocessOutput(
  _ what: String, executable: String, arguments: [String], environment: [String: String] = [:], input: Data? = nil,
  discardingErrors: Bool = false
) throws -> Data {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: executable)
  process.arguments = arguments
  process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  let output = Pipe()
  let inputPipe = Pipe()
  process.standardOutput = output
  if input != nil { process.standardInput = inputPipe }
  if discardingErrors { process.standardError = FileHandle.nullDevice }
  try process.run()
  if let input {
    try inputPipe.fileHandleForWriting.write(contentsOf: input)
    try inputPipe.fileHandleForWriting.close()
  }
  let data = output.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  guard process.terminationStatus == 0 else { throw BenchError("\(what) failed (status \(process.terminationStatus))") }
  return data
}

/// The repository the benchmark binary was built from, for its scripts and clients.
let benchRepositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent().path
