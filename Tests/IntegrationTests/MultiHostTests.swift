import Foundation
import SwiftProtobuf
import Synchronization
import Testing
import WeftClient
import WeftNetworkLab
import WeftProtocol

/// The mesh across hosts: each host a network namespace with its own address, real `weft`
/// processes on them, links cut with nftables. Needs root; skipped, with the reason, without it.
@Suite(.serialized, .enabled(if: TestNetwork.isAvailable, Comment(rawValue: TestNetwork.unavailableReason ?? "")))
struct MultiHostTests {
  @Test func theModelsAndEchoAnswerAcrossHosts() async throws {
    let network = try TestNetwork(hosts: 4)
    defer { network.remove() }
    let mesh = try await HostMesh(network: network, gatewayHosts: [0])
    try await mesh.startWorker(onHost: 1, name: "text-1", ["--model", "text"])
    try await mesh.startWorker(onHost: 1, name: "echo-1", ["--model", "echo"])
    try await mesh.startWorker(onHost: 2, name: "vision-2", ["--model", "vision"])
    try await mesh.startWorker(onHost: 2, name: "speech-2", ["--model", "speech"])

    // From the test process, checked against the reference fixtures.
    let client = try mesh.client()
    defer { client.close() }
    let sentence = TextServiceTests.fixture.cases[0]
    let vector = try await client.embed([sentence.text])[0]
    #expect(zip(vector, sentence.embedding).map { abs($0 - $1) }.max() ?? 1 <= 1e-4)
    let coffee = VisionServiceTests.fixtures.appendingPathComponent("vision/coffee-224.png")
    let classes = try await client.classify(image: try Data(contentsOf: coffee), topK: 1)
    #expect(classes.top.first?.index == 967)
    let recording = SpeechServiceTests.fixture.files[0]
    let speech = try await client.detectSpeech(wav: try Data(contentsOf: SpeechServiceTests.directory.appendingPathComponent(recording.name)))
    #expect(speech.segments.map { [Int($0.startSample), Int($0.endSample)] } == recording.segments[0])
    let echoed = try await client.call("echo", "echo", body: [Data("across hosts".utf8)])
    #expect(echoed.body == [Data("across hosts".utf8)] && echoed.header.workerID == "echo-1")

    // From a fourth host, the CLI.
    let gateway = ["--gateway", mesh.frontends[0], "--json"]
    let calls: [(arguments: [String], expected: String)] = [
      (["call", "echo.echo", "--data", "from host 4"], "from host 4"),
      (["call", "text.embed", "--text", sentence.text], "384"),
      (["call", "vision.classify", "--image", coffee.path, "--top-k", "1"], "espresso"),
      (["call", "speech.detect", "--audio", SpeechServiceTests.directory.appendingPathComponent(recording.name).path], "segments"),
    ]
    for call in calls {
      let result = try await network.hosts[3].run(call.arguments + gateway)
      #expect(result.status == 0 && result.stdout.contains(call.expected), "\(call.arguments): \(result.stdout) \(result.stderr)")
    }
  }

  /// A worker host partitioned under load (packets dropped, no reset) is evicted within
  /// three heartbeats, its requests finish on the other worker, and once the link heals
  /// it registers again and serves.
  @Test(arguments: [false, true])
  func aPartitionedWorkerHostIsEvictedWithoutLossAndServesAfterHealing(curve: Bool) async throws {
    let network = try TestNetwork(hosts: 3)
    defer { network.remove() }
    let keys = curve ? try await SecurityTests.Keys() : nil
    let mesh = try await HostMesh(network: network, gatewayHosts: [0], gatewayArguments: ["--heartbeat-ms", "100"], keys: keys)
    let sleepy = ["--model", "sleep", "--latency-ms", "20", "--capacity", "4", "--max-batch-size", "4", "--heartbeat-ms", "100"]
    try await mesh.startWorker(onHost: 1, name: "steady", sleepy)
    try await mesh.startWorker(onHost: 2, name: "partitioned", sleepy)
    let frontend = mesh.frontends[0]
    let client = try mesh.client()
    defer { client.close() }

    let load = CallLoad(concurrency: 16) { index in
      await client.result("sleep", "sleep", body: [Data("\(index)".utf8)], options: CallOptions(timeout: .seconds(20)))
    }
    try await mesh.waitUntil("the worker to be cut holds requests", gateway: frontend) {
      ($0.worker(named: "partitioned")?.inFlight ?? 0) > 0
    }
    let cut = ContinuousClock.now
    try network.hosts[2].cut()
    try await mesh.waitUntil("the partitioned worker is evicted", gateway: frontend, timeout: .seconds(5)) {
      $0.worker(named: "partitioned") == nil
    }
    let evictedAfter = ContinuousClock.now - cut
    // Three silent 100 ms intervals, plus the gateway's check and this test's polling of its
    // status (every 50 ms, each a round trip through the loaded gateway, over CURVE in one
    // case): 846 ms was seen once in a fresh-clone CI run with every suite running beside it
    // on 2 cores. Well under the 3 s that the default 1 s heartbeat would take.
    #expect(evictedAfter < .milliseconds(1_000), "evicted after \(evictedAfter)")

    try network.hosts[2].heal()
    try await mesh.waitUntil("the healed worker serves again", gateway: frontend, timeout: .seconds(15)) {
      ($0.worker(named: "partitioned")?.completed ?? 0) > 10
    }
    let outcomes = await load.stop()
    for (index, outcome) in outcomes.enumerated() {
      #expect((try? outcome.result.get().body) == [Data("\(index)".utf8)], "call \(index): \(outcome.result)")
    }
    let status = try await client.meshStatus()
    #expect(
      status.redispatched > 0,
      "the partitioned worker's requests should have been sent again; workers: \(["steady", "partitioned"].map { "\($0): \(String(describing: status.worker(named: $0)))" })")
  }

  /// A worker registered with two gateways splits its capacity between them: at no sample
  /// do the limits the gateways apply add up to more than its capacity (each used to get
  /// all of it, so together they could send twice as much), and the split follows the
  /// load from one gateway to the other.
  @Test func aWorkerServingTwoGatewaysNeverHoldsMoreThanItsCapacity() async throws {
    let network = try TestNetwork(hosts: 3)
    defer { network.remove() }
    let mesh = try await HostMesh(network: network, gatewayHosts: [0, 1], gatewayArguments: ["--heartbeat-ms", "100"])
    let capacity = 4
    try await mesh.startWorker(
      onHost: 2, name: "shared", ["--model", "sleep", "--latency-ms", "20", "--capacity", "\(capacity)", "--max-batch-size", "4",
                                  "--heartbeat-ms", "100"])
    let clients = try mesh.frontends.map { try WeftClient(gateways: [$0]) }
    defer { for client in clients { client.close() } }
    func limit(_ gateway: Int) async throws -> Int {
      Int(try await clients[gateway].meshStatus().worker(named: "shared")?.capacity ?? 0)
    }
    /// Samples both gateways' limits for the worker while `busy` gateways' clients keep it
    /// full, until they are `expected` (or, for nil, 40 samples; 10 s at most); returns the last.
    func sample(busy: [Int], until expected: [Int]?) async throws -> [Int] {
      let loads = busy.map { gateway in
        CallLoad(concurrency: 16) { index in
          await clients[gateway].result("sleep", "sleep", body: [Data("\(index)".utf8)], options: CallOptions(timeout: .seconds(10)))
        }
      }
      var last = [0, 0]
      var samples = 0
      let giveUp = ContinuousClock.now + .seconds(10)
      repeat {
        // The first gateway before and after the second: a limit moves only after the other
        // gateway confirmed giving it up, so the smaller of the two readings is safe to add.
        let (before, second, after) = (try await limit(0), try await limit(1), try await limit(0))
        #expect(min(before, after) + second <= capacity, "limits \(before)/\(after) and \(second) over a capacity of \(capacity)")
        last = [after, second]
        samples += 1
      } while (expected.map { last != $0 } ?? (samples < 40)) && ContinuousClock.now < giveUp
      for load in loads {
        let outcomes = await load.stop()
        #expect(outcomes.allSatisfy { (try? $0.result.get()) != nil }, "every call through the busy gateway answered")
      }
      return last
    }
    let both = try await sample(busy: [0, 1], until: nil)
    #expect(both.reduce(0, +) <= capacity && both.allSatisfy { $0 >= 1 }, "\(both)")
    // Load only through the first gateway: it ends with all but the other's one slot.
    let first = try await sample(busy: [0], until: [capacity - 1, 1])
    #expect(first == [capacity - 1, 1], "\(first)")
    let second = try await sample(busy: [1], until: [1, capacity - 1])
    #expect(second == [1, capacity - 1], "\(second)")
  }

  /// How a gateway is lost in a failover test.
  enum GatewayLoss: String, CaseIterable, Sendable { case killed, cutOff }

  /// Two gateways with workers registered with both, and a client of both under load
  /// (from the test process in Swift, from a fourth host in Python and C): losing one (kill -9,
  /// or packets dropped without a reset) loses no idempotent call, the calls it held
  /// finish through the other gateway long before their deadline, and the gateway is used
  /// again once it is back. The Swift run also checks that non-idempotent calls the lost
  /// gateway held end at once with UNAVAILABLE.
  @Test(arguments: GatewayLoss.allCases, LibraryLoad.Library.allCases)
  func losingAGatewayLosesNoIdempotentCall(_ loss: GatewayLoss, _ library: LibraryLoad.Library) async throws {
    let network = try TestNetwork(hosts: 4)
    defer { network.remove() }
    let mesh = try await HostMesh(network: network, gatewayHosts: [0, 1], gatewayArguments: ["--heartbeat-ms", "100"])
    let sleepy = ["--model", "sleep", "--latency-ms", "10", "--capacity", "16", "--max-batch-size", "8", "--heartbeat-ms", "100"]
    try await mesh.startWorker(onHost: 2, name: "sleep-a", sleepy)
    try await mesh.startWorker(onHost: 2, name: "sleep-b", sleepy)
    try await mesh.startWorker(
      onHost: 2, name: "slow", ["--model", "sleep", "--service", "slow", "--latency-ms", "2000", "--capacity", "32",
                                "--max-batch-size", "32", "--heartbeat-ms", "100"])
    let deadline = Duration.seconds(8)
    // Made now, so both its connections are up by the time it is used.
    let client = try mesh.client()
    defer { client.close() }
    let load = try await LibraryLoad.start(library, gateways: mesh.frontends, deadline: deadline, host: network.hosts[3])
    // Both gateways serve the load before one is lost.
    for frontend in mesh.frontends {
      try await mesh.waitUntil("\(frontend) has served calls", gateway: frontend) { status in
        status.services.flatMap(\.versions).flatMap(\.workers).map(\.completed).reduce(0, +) > 50
      }
    }
    // Calls that must not run twice, sure to be held by both gateways (they take 2 s).
    let once = library != .swift ? [] : (0..<8).map { index in
      Task {
        let result = await client.result("slow", "sleep", body: [Data("once \(index)".utf8)], options: CallOptions(timeout: deadline, idempotent: false))
        return (result, ContinuousClock.now)
      }
    }
    if !once.isEmpty {
      for frontend in mesh.frontends {
        try await mesh.waitUntil("the slow calls run", gateway: frontend) { ($0.worker(named: "slow")?.inFlight ?? 0) > 0 }
      }
    }

    let lost = ContinuousClock.now
    switch loss {
    case .killed: mesh.gateway(onHost: 1)?.signal(SIGKILL)
    case .cutOff: try network.hosts[1].cut()
    }
    var unavailable = 0
    for (index, task) in once.enumerated() {
      let (result, ended) = await task.value
      switch result {
      case .success(let response): #expect(response.body == [Data("once \(index)".utf8)])
      case .failure(let error):
        #expect(error.code == .unavailable, "\(error)")
        #expect(ended - lost < .milliseconds(1_500), "a non-idempotent call on the lost gateway ended \(ended - lost) after the loss")
        unavailable += 1
      }
    }
    #expect(once.isEmpty || (unavailable > 0 && unavailable < once.count), "\(unavailable) of \(once.count) non-idempotent calls failed")
    // The outage lasts 2 s: longer than a client needs to notice a silent gateway (0.8 s).
    try await Task.sleep(until: lost + .seconds(2))

    // Back again: restarted, or its link healed; the workers register again and the client uses it.
    switch loss {
    case .killed: try await mesh.startGateway(onHost: 1)
    case .cutOff: try network.hosts[1].heal()
    }
    try await mesh.waitUntil("the returned gateway serves the client again", gateway: mesh.frontends[1], timeout: .seconds(15)) { status in
      (status.worker(named: "sleep-a")?.completed ?? 0) + (status.worker(named: "sleep-b")?.completed ?? 0) > 100
    }
    let summary = try await load.stop()
    #expect(summary.calls > 500 && summary.failures.isEmpty, "\(library) client: \(summary.failures.count) of \(summary.calls) calls failed: \(summary.failures.prefix(5))")
    // Detection (at once for a kill; within 0.8 s for a cut) plus the call again.
    #expect(summary.slowest < .seconds(2), "the slowest idempotent call took \(summary.slowest) (deadline \(deadline))")
    print("failover \(library) \(loss.rawValue): \(summary.calls) calls, none lost, slowest \(summary.slowest)")
  }
}

/// Idempotent `sleep` calls kept in flight through several gateways by one client
/// library, until stopped: the Swift client in this process, or the Python or C client in
/// a process on a test host.
final class LibraryLoad: Sendable {
  enum Library: String, CaseIterable, Sendable { case swift, python, c }

  /// What the load saw: calls made, why those that did not come back right failed, the slowest.
  struct Summary: Sendable {
    let calls: Int
    let failures: [String]
    let slowest: Duration
  }

  private let stopping: @Sendable () async throws -> Summary

  private init(stopping: @escaping @Sendable () async throws -> Summary) { self.stopping = stopping }

  /// Starts the load and returns once it runs.
  static func start(_ library: Library, gateways: [String], deadline: Duration, host: LabHost) async throws -> LibraryLoad {
    switch library {
    case .swift:
      let client = try WeftClient(gateways: gateways)
      let load = CallLoad(concurrency: 32) { index in
        await client.result("sleep", "sleep", body: [Data("\(index)".utf8)], options: CallOptions(timeout: deadline))
      }
      return LibraryLoad {
        let outcomes = await load.stop()
        client.close()
        let failures = outcomes.enumerated().compactMap { index, outcome -> String? in
          (try? outcome.result.get().body) == [Data("\(index)".utf8)] ? nil : "call \(index): \(outcome.result)"
        }
        return Summary(calls: outcomes.count, failures: failures, slowest: outcomes.map(\.latency).max() ?? .zero)
      }
    case .python, .c:
      // Both programs keep 32 calls in flight until the stop file appears, then print a JSON summary.
      let stopFile = FileManager.default.temporaryDirectory.appendingPathComponent("weft-load-stop-\(UUID().uuidString)").path
      let process: MeshProcess
      if library == .python {
        let script = ClientLibraryTests.repository.appendingPathComponent("Tests/IntegrationTests/Python/failover_load.py").path
        process = try host.start(
          [script, "--stop", stopFile, "--timeout", "\(deadline.components.seconds)"] + gateways.flatMap { ["--gateway", $0] },
          executable: ClientLibraryTests.python,
          environment: ["PYTHONPATH": ClientLibraryTests.repository.appendingPathComponent("clients/python").path])
      } else {
        process = try host.start(
          ["-s", stopFile, "-t", "\(deadline.components.seconds * 1_000)"] + gateways,
          executable: try await ClientLibraryTests.cProgram("weft-failover-load"))
      }
      _ = try await process.waitForLine(prefix: "load running")
      return LibraryLoad {
        _ = FileManager.default.createFile(atPath: stopFile, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: stopFile) }
        guard await process.waitForExit(timeout: .seconds(30)) == 0, let line = process.lines.withLock({ $0.last }),
          let summary = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
          let calls = summary["calls"] as? Int, let lost = summary["lost"] as? Int, let slowest = summary["slowest_s"] as? Double
        else { throw TestFailure("the \(library) load did not finish cleanly: \(process.log)") }
        let failures = lost == 0 ? [] : ["\(lost) calls lost: \(summary["failures"] ?? "see the program's output")"]
        return Summary(calls: calls, failures: failures, slowest: .milliseconds(Int(slowest * 1_000)))
      }
    }
  }

  /// Stops the load, waits for the calls in flight, and sums up.
  func stop() async throws -> Summary { try await stopping() }
}

/// Calls kept running with a fixed number in flight until `stop()`, which returns every
/// call's result and how long it took, in the order the calls were started.
final class CallLoad: Sendable {
  typealias Outcome = (result: Result<Response, WeftError>, latency: Duration)
  private final class Flag: Sendable { let raised = Atomic(false) }
  private let stopping: Flag
  private let task: Task<[Outcome], Never>

  init(concurrency: Int, _ call: @escaping @Sendable (Int) async -> Result<Response, WeftError>) {
    let stopping = Flag()
    self.stopping = stopping
    task = Task {
      await withTaskGroup(of: (Int, Outcome).self) { group in
        var outcomes: [Int: Outcome] = [:]
        var next = 0
        func start() {
          let index = next
          group.addTask {
            let started = ContinuousClock.now
            let result = await call(index)
            return (index, (result, ContinuousClock.now - started))
          }
          next += 1
        }
        for _ in 0..<concurrency { start() }
        for await (index, outcome) in group {
          outcomes[index] = outcome
          if !stopping.raised.load(ordering: .relaxed) { start() }
        }
        return (0..<next).map { outcomes[$0]! }
      }
    }
  }

  /// Stops starting calls, waits for those in flight, and returns all outcomes.
  func stop() async -> [Outcome] {
    stopping.raised.store(true, ordering: .relaxed)
    return await task.value
  }
}
