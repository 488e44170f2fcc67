import Foundation
import Testing
import WeftClient
import WeftProcess
import WeftProtocol
import ZeroMQ

/// `weft up` supervision, gateway restarts and the CLI's contract, on real processes.
@Suite(.serialized) struct SupervisionTests {
  /// A loopback port free a moment ago: bound on port 0 by a throwaway socket.
  private func childPID(of parent: Int32, matching pattern: String) -> Int32? {
    childPIDs(of: parent, matching: pattern).first
  }

  private func childPIDs(of parent: Int32, matching pattern: String) -> [Int32] {
    guard let process = try? SpawnedProcess(
      executable: "/usr/bin/pgrep", arguments: ["-P", "\(parent)", "-f", pattern],
      environment: ProcessInfo.processInfo.environment, input: .null, output: .pipe)
    else { return [] }
    process.waitUntilExit()
    let text = String(decoding: process.output!.readDataToEndOfFile(), as: UTF8.self)
    return text.split(separator: "\n").compactMap { Int32($0) }
  }

  @Test func upRestartsACrashedWorkerAndStopsEverythingOnSIGTERM() async throws {
    let config = FileManager.default.temporaryDirectory.appendingPathComponent("weft-up-\(getpid()).yaml")
    try """
      gateway:
        frontend: tcp://127.0.0.1:*
        backend: tcp://127.0.0.1:*
      workers:
        - model: echo
        - model: sleep
          latency_ms: 5
      """.write(to: config, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: config) }

    let up = try MeshProcess(["up", "--config", config.path, "--log-level", "warning"])
    let line = try await up.waitForLine(prefix: "mesh gateway")
    let frontend = String(line.split(separator: " ").first { $0.hasPrefix("frontend=") }!.dropFirst("frontend=".count))
    let client = try WeftClient(gateways: [frontend])
    defer { client.close() }
    let mesh = MeshView(client: client)
    try await mesh.waitUntil("both workers are listed") { $0.worker(named: "echo-1") != nil && $0.worker(named: "sleep-1") != nil }
    #expect(try await client.call("echo", "echo", body: [Data("up".utf8)]).body == [Data("up".utf8)])

    let killedID = try #require(try await client.meshStatus().worker(named: "echo-1")?.id)
    let worker = try #require(childPID(of: up.pid, matching: "name echo-1"))
    kill(worker, SIGKILL)
    try await mesh.waitUntil("a new echo-1 replaces the killed one", timeout: .seconds(15)) { _ in
      guard let replacement = childPID(of: up.pid, matching: "name echo-1") else { return false }
      return replacement != worker
    }
    // The new process's connection, not the killed one's entry that the gateway may still list.
    try await mesh.waitUntil("the new echo-1 registers", timeout: .seconds(15)) { status in
      guard let listed = status.worker(named: "echo-1") else { return false }
      return listed.id != killedID
    }
    #expect(try await client.call("echo", "echo", body: [Data("again".utf8)]).header.workerID == "echo-1")

    let children = childPIDs(of: up.pid, matching: "weft")
    #expect(children.count == 3)  // gateway and two workers
    up.signal(SIGTERM)
    #expect(await up.waitForExit(timeout: .seconds(30)) == 0)
    for child in children {
      #expect(kill(child, 0) != 0, "child \(child) still running after weft up stopped")
    }
  }

  @Test func workerRegistersAgainWhenItsGatewayRestarts() async throws {
    let (front, back) = (try freeLoopbackPort(), try freeLoopbackPort())
    let gatewayArguments = ["gateway", "--frontend", "tcp://127.0.0.1:\(front)", "--backend", "tcp://127.0.0.1:\(back)",
                            "--heartbeat-ms", "100", "--log-level", "warning"]
    let first = try MeshProcess(gatewayArguments)
    _ = try await first.waitForLine(prefix: "gateway listening")
    let worker = try MeshProcess(
      ["worker", "--model", "echo", "--gateway", "tcp://127.0.0.1:\(back)", "--name", "phoenix", "--heartbeat-ms", "100",
       "--log-level", "warning"])
    _ = try await worker.waitForLine(prefix: "worker ready")
    let client = try WeftClient(gateways: ["tcp://127.0.0.1:\(front)"])
    defer { client.close() }
    let mesh = MeshView(client: client)
    try await mesh.waitUntil("the worker is listed") { $0.worker(named: "phoenix") != nil }

    first.signal(SIGKILL)
    _ = await first.waitForExit()
    let second = try MeshProcess(gatewayArguments)
    _ = try await second.waitForLine(prefix: "gateway listening")
    try await mesh.waitUntil("the worker registers with the new gateway", timeout: .seconds(15)) {
      $0.worker(named: "phoenix") != nil
    }
    #expect(try await client.call("echo", "echo").header.workerID == "phoenix")
    #expect(worker.process.isRunning)
  }

  @Test func cliReportsFailuresWithExitCodesAndClearMessages() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "e", ["--model", "echo"])

    let ok = try await MeshProcess.run(["call", "echo.echo", "--data", "hi", "--json", "--gateway", mesh.frontend])
    #expect(ok.status == 0)
    let json = try JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as? [String: Any]
    #expect(json?["status"] as? String == "OK")
    #expect(json?["body"] as? [String] == ["hi"])

    let missing = try await MeshProcess.run(["call", "nothing.here", "--gateway", mesh.frontend])
    #expect(missing.status == 1)
    #expect(missing.stderr.contains("UNAVAILABLE"))

    let usage = try await MeshProcess.run(["call", "no-dot"])
    #expect(usage.status == 64)  // EX_USAGE
    #expect(usage.stderr.contains("SERVICE.METHOD"))

    let badConfig = FileManager.default.temporaryDirectory.appendingPathComponent("weft-bad-\(getpid()).yaml")
    try "workers:\n  - model: teleport\n".write(to: badConfig, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: badConfig) }
    let refused = try await MeshProcess.run(["up", "--config", badConfig.path])
    #expect(refused.status != 0)
    #expect(refused.stderr.contains("unknown model 'teleport'"))

    let status = try await MeshProcess.run(["status", "--json", "--gateway", mesh.frontend])
    #expect(status.status == 0)
    #expect(status.stdout.contains("\"name\": \"e\"") || status.stdout.contains("\"name\":\"e\""))
  }

  /// With nothing listening, or a gateway that is stopped (it accepts TCP but never
  /// completes a ZeroMQ handshake), the commands say so within 3 s, naming the endpoint.
  @Test func commandsWithNoGatewayAnsweringFailFastNamingTheEndpoint() async throws {
    let nobody = "tcp://127.0.0.1:1"
    for command in [["status"], ["call", "echo.echo", "--data", "x"], ["route", "show"]] {
      let started = ContinuousClock.now
      let result = try await MeshProcess.run(command + ["--gateway", nobody])
      #expect(result.status == 1, "\(command)")
      #expect(result.stderr.contains("UNAVAILABLE: no gateway answered at \(nobody) within 3000 ms"), "\(command): \(result.stderr)")
      #expect(result.stderr.contains("./scripts/run-mesh.sh"))
      #expect(ContinuousClock.now - started < .seconds(6), "\(command)")
    }
    let mesh = try await TestMesh()
    mesh.gateway.signal(SIGSTOP)
    defer { mesh.gateway.signal(SIGCONT) }
    let stopped = try await MeshProcess.run(["status", "--gateway", mesh.frontend, "--timeout-ms", "800"])
    #expect(stopped.status == 1 && stopped.stderr.contains("within 800 ms"), "\(stopped.stderr)")
  }

  @Test func versionFlagsNoLongerCollideAndConfigsAreCheckedWithTheirLines() async throws {
    // `--version` is the tool's own; a worker's version is `--model-version`.
    let tool = try await MeshProcess.run(["--version"])
    #expect(tool.status == 0 && tool.stdout.contains("0.1.0"))
    let help = try await MeshProcess.run(["worker", "--help"])
    #expect(help.stdout.contains("--model-version"))
    let helpText = try await MeshProcess.run(["--help"])
    #expect(!helpText.stdout.contains("bench"), "benchmarks live in weft-bench, not in weft")

    let file = FileManager.default.temporaryDirectory.appendingPathComponent("weft-check-\(getpid()).yaml")
    defer { try? FileManager.default.removeItem(at: file) }
    try "gateway:\n  frontend: tcp://127.0.0.1:*\nworkers:\n  - model: echo\n    max_batch_size: 0\n".write(
      to: file, atomically: true, encoding: .utf8)
    let refused = try await MeshProcess.run(["config", "check", file.path])
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("\(file.path):5: workers[0].max_batch_size: must be 1 to 4096, got 0"), "\(refused.stderr)")
    let worker = try await MeshProcess.run(["worker", "--config", file.path, "--worker", "0"])
    #expect(worker.status != 0 && worker.stderr.contains("workers[0].max_batch_size"), "\(worker.stderr)")
    let shipped = try await MeshProcess.run(
      ["config", "check", ClientLibraryTests.repository.appendingPathComponent("deploy/weft.yaml").path])
    #expect(shipped.status == 0 && shipped.stdout.contains("workers: text×1, vision×1, speech×1, echo×1, echo×1, sleep×1"), "\(shipped.stdout)")
  }
}

extension SupervisionTests {
  /// Speed is not asserted anywhere; this only checks the benchmark still runs end to end.
  @Test func benchRunsBothPathsAndPrintsRatios() async throws {
    let benchExecutable = URL(fileURLWithPath: MeshProcess.executable).deletingLastPathComponent()
      .appendingPathComponent("weft-bench").path
    let bench = try await MeshProcess.run(
      ["--rounds", "1", "--latency-samples", "50", "--messages", "500", "--in-flight", "20"], executable: benchExecutable)
    #expect(bench.status == 0, "\(bench.stderr)")
    for expected in ["zmq_proxy", "weft gateway", "ratio weft/proxy", "64 B echo", "64 KiB echo", "host steal during the run"] {
      #expect(bench.stdout.contains(expected), "missing '\(expected)' in:\n\(bench.stdout)")
    }
  }
}

/// Status polling for tests that talk to a mesh they did not start with ``TestMesh``.
struct MeshView {
  let client: WeftClient

  /// Polls until `condition` holds; on timeout the error names the workers the last
  /// status listed, so a failure says what the gateway saw.
  func waitUntil(_ what: String, timeout: Duration = .seconds(20), _ condition: (MeshStatus) -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    var last: MeshStatus?
    while ContinuousClock.now < deadline {
      if let status = try? await client.meshStatus(timeout: .milliseconds(500)) {
        if condition(status) { return }
        last = status
      }
      try await Task.sleep(for: .milliseconds(50))
    }
    let workers = last.map { status in
      status.services.flatMap { service in
        service.versions.flatMap { version in
          version.workers.map { "\(service.name)/\($0.name): \($0.completed) completed, \($0.inFlight) in flight, seen \($0.lastSeenMsAgo) ms ago" }
        }
      }
    }
    let seen = workers.map { $0.isEmpty ? "no workers" : $0.joined(separator: "; ") } ?? "no status answered"
    throw TestFailure("timed out waiting until \(what) (last status: \(seen))")
  }
}
