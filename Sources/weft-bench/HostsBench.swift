import ArgumentParser
import Foundation
import Synchronization
import WeftClient
import WeftNetworkLab
import WeftProcess
import WeftProtocol
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// `weft-bench hosts`: the mesh across hosts, each a network namespace on this machine.
struct HostsBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "hosts",
    abstract: "Measure scaling across worker hosts and the clients' failover time between gateways (needs root).",
    discussion: """
      Scaling: one gateway on a host of its own and a sleep-10 ms worker (capacity 8, batches \
      of 8) on each of 1, 2, 4 and 8 more hosts; a pipelined DEALER on the benchmark's own \
      address keeps twice the workers' capacity in flight (after a warm-up of one second's \
      worth). Calls per second, against linear (N times the one-host figure measured in \
      the same run).

      Failover: two gateways on their own hosts, two sleep workers on a third registered \
      with both, and the Swift client of both keeping 32 idempotent calls in flight. Each \
      trial loses one gateway (kill -9, or a silent nftables cut) for the outage, then \
      restores it (restart, or heal) and waits until it serves the client again. A trial's \
      failover time is how long after the loss the last call that was in flight at the \
      loss came back.
      """)

  @Option(help: "Worker host counts to measure (repeat).")
  var hosts: [Int] = [1, 2, 4, 8]
  @Option(help: "Seconds of calls each scaling step is measured over, at full speed (after a warm-up).")
  var seconds: Double = 5
  @Option(help: "Failover trials per kind of loss (0 skips them).")
  var trials = 20
  @Option(help: "Milliseconds a lost gateway stays lost in a failover trial.")
  var outageMs = 2_500

  func run() async throws {
    if let reason = LabNetwork.unavailableReason { throw BenchError("weft-bench hosts: \(reason)") }
    let weft = try BenchMesh.weftExecutable()
    print("weft-bench hosts: \(ProcessInfo.processInfo.activeProcessorCount) cores; scaling over \(hosts) worker hosts, \(trials) failover trials per kind")
    if !hosts.isEmpty { try await scaling(weft: weft) }
    if trials > 0 { try await failover(weft: weft) }
  }

  // MARK: Scaling

  private func scaling(weft: String) async throws {
    let context = try Context()
    var perHost: Double?
    print("\nworker hosts  calls/s  per host  vs linear")
    for count in hosts {
      let network = try LabNetwork(hosts: count + 1)
      defer { network.remove() }
      let gateway = try await LabGateway.start(on: network.hosts[0], weft: weft, arguments: [])
      defer { gateway.child.signal(SIGKILL) }
      var workers: [Child] = []
      defer { for worker in workers { worker.signal(SIGKILL) } }
      for index in 1...count {
        workers.append(
          try await startWorker(
            on: network.hosts[index], weft: weft, gateways: [gateway.backend], name: "sleep-\(index)",
            ["--model", "sleep", "--latency-ms", "10", "--capacity", "8", "--max-batch-size", "8"]))
      }
      try await BenchMesh.waitUntilRegistered(count, frontend: gateway.frontend, curve: nil)
      let header = try requestHeader(service: SleepService.sleep.service, method: SleepService.sleep.name)
      let generator = try LoadGenerator(
        context: context, endpoint: gateway.frontend, frames: [Signature.client, header, [UInt8](repeating: 0x5a, count: 64)],
        checksWeftStatus: true)
      // A worker does at most 800 calls/s (batches of 8 in 10 ms): size the runs by that.
      _ = try generator.throughput(total: 800 * count, inFlight: 16 * count)
      let rate = try generator.throughput(total: Int(800 * Double(count) * seconds), inFlight: 16 * count)
      if generator.failedReplies > 0 { throw BenchError("\(generator.failedReplies) calls failed") }
      let single = perHost ?? rate
      perHost = single
      let linear = single * Double(count)
      print("\(String(format: "%12d", count))  \(String(format: "%7.0f", rate))  \(String(format: "%8.0f", rate / Double(count)))  \(String(format: "%8.2fx", rate / linear))")
    }
  }

  // MARK: Failover

  private enum Loss: String, CaseIterable { case killed = "kill -9", cutOff = "silent cut" }

  /// Calls in flight at the loss, and the last of them to come back.
  private struct Trial {
    var lostAt: ContinuousClock.Instant?
    var worst: Duration = .zero
    var failures = 0
  }

  /// What the load tasks share with the trials.
  private final class FailoverState: Sendable {
    let trial = Mutex(Trial())
    let stopping = Atomic(false)
  }

  private func failover(weft: String) async throws {
    let network = try LabNetwork(hosts: 3)
    defer { network.remove() }
    let heartbeat = ["--heartbeat-ms", "100"]
    var gateways = [
      try await LabGateway.start(on: network.hosts[0], weft: weft, arguments: heartbeat),
      try await LabGateway.start(on: network.hosts[1], weft: weft, arguments: heartbeat),
    ]
    defer { for gateway in gateways { gateway.child.signal(SIGKILL) } }
    var workers: [Child] = []
    defer { for worker in workers { worker.signal(SIGKILL) } }
    for name in ["sleep-a", "sleep-b"] {
      workers.append(
        try await startWorker(
          on: network.hosts[2], weft: weft, gateways: gateways.map(\.backend), name: name,
          ["--model", "sleep", "--latency-ms", "10", "--capacity", "16", "--max-batch-size", "8"] + heartbeat))
    }
    for gateway in gateways { try await BenchMesh.waitUntilRegistered(2, frontend: gateway.frontend, curve: nil) }

    let client = try WeftClient(gateways: gateways.map(\.frontend))
    defer { client.close() }
    let state = FailoverState()
    let load = Task {
      await withTaskGroup(of: Void.self) { group in
        for _ in 0..<32 {
          group.addTask {
            while !state.stopping.load(ordering: .relaxed) {
              let started = ContinuousClock.now
              let result: Bool
              do {
                _ = try await client.call("sleep", "sleep", options: CallOptions(timeout: .seconds(8)))
                result = true
              } catch {
                result = false
              }
              let ended = ContinuousClock.now
              state.trial.withLock { trial in
                if !result { trial.failures += 1 }
                if let lost = trial.lostAt, started < lost, ended > lost { trial.worst = max(trial.worst, ended - lost) }
              }
            }
          }
        }
      }
    }
    defer { state.stopping.store(true, ordering: .relaxed) }

    print("\nloss        trials  failover p50   p90    max (s)  calls lost")
    for loss in Loss.allCases {
      var times: [Double] = []
      var lostCalls = 0
      for _ in 0..<trials {
        try await waitUntilServing(gateways[1].frontend)
        state.trial.withLock { $0 = Trial(lostAt: .now) }
        switch loss {
        case .killed: gateways[1].child.signal(SIGKILL)
        case .cutOff: try network.hosts[1].cut()
        }
        try await Task.sleep(for: .milliseconds(outageMs))
        let result = state.trial.withLock { trial in
          defer { trial.lostAt = nil }
          return trial
        }
        times.append(result.worst.seconds)
        lostCalls += result.failures
        switch loss {
        case .killed: gateways[1] = try await LabGateway.start(on: network.hosts[1], weft: weft, arguments: heartbeat)
        case .cutOff: try network.hosts[1].heal()
        }
      }
      times.sort()
      func at(_ fraction: Double) -> Double { times[min(times.count - 1, Int(fraction * Double(times.count)))] }
      print("\(loss.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0))  \(String(format: "%6d", trials))  \(String(format: "%12.3f %6.3f %8.3f", at(0.5), at(0.9), times.last ?? 0))  \(lostCalls)")
    }
    state.stopping.store(true, ordering: .relaxed)
    await load.value
  }

  /// Waits until the gateway at `frontend` has both workers and has served 200 more of the
  /// client's calls (so the client uses it again), up to 30 s.
  private func waitUntilServing(_ frontend: String) async throws {
    let probe = try WeftClient(gateways: [frontend])
    defer { probe.close() }
    func served() async -> UInt64? {
      guard let status = try? await probe.meshStatus(timeout: .milliseconds(500)),
        status.services.first(where: { $0.name == "sleep" })?.versions.first?.workers.count == 2
      else { return nil }
      return status.services.flatMap(\.versions).flatMap(\.workers).map(\.completed).reduce(0, +)
    }
    let deadline = ContinuousClock.now + .seconds(30)
    var first: UInt64?
    while ContinuousClock.now < deadline {
      if let count = await served() {
        if let first, count >= first + 200 { return }
        if first == nil { first = count }
      }
      try await Task.sleep(for: .milliseconds(50))
    }
    throw BenchError("the gateway at \(frontend) did not serve the client again within 30 s")
  }

  private func startWorker(on host: LabHost, weft: String, gateways: [String], name: String, _ arguments: [String]) async throws -> Child {
    let worker = Child(
      name: name,
      arguments: host.command(weft, ["worker", "--name", name, "--log-level", "error"] + gateways.flatMap { ["--gateway", $0] } + arguments))
    try worker.launch(executable: LabNetwork.ip, readsAnnouncement: true)
    _ = try await worker.waitForAnnouncement("name")
    return worker
  }
}

/// A gateway on a lab host, on the host's ports 5555 (clients) and 5556 (workers).
private struct LabGateway {
  let child: Child
  let frontend: String
  let backend: String

  static func start(on host: LabHost, weft: String, arguments: [String]) async throws -> LabGateway {
    let (frontend, backend) = (host.endpoint(port: 5555), host.endpoint(port: 5556))
    let child = Child(
      name: "gateway",
      arguments: host.command(weft, ["gateway", "--frontend", frontend, "--backend", backend, "--log-level", "error"] + arguments))
    try child.launch(executable: LabNetwork.ip, readsAnnouncement: true)
    _ = try await child.waitForAnnouncement("frontend")
    return LabGateway(child: child, frontend: frontend, backend: backend)
  }
}
