import Foundation
import SwiftProtobuf
import Synchronization
import Testing
import WeftClient
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
    // Three silent 100 ms intervals, plus the gateway's check and this test's polling.
    #expect(evictedAfter < .milliseconds(600), "evicted after \(evictedAfter)")

    try network.hosts[2].heal()
    try await mesh.waitUntil("the healed worker serves again", gateway: frontend, timeout: .seconds(15)) {
      ($0.worker(named: "partitioned")?.completed ?? 0) > 10
    }
    let outcomes = await load.stop()
    #expect(outcomes.count > 100)
    for (index, outcome) in outcomes.enumerated() {
      #expect((try? outcome.result.get().body) == [Data("\(index)".utf8)], "call \(index): \(outcome.result)")
    }
    let status = try await client.meshStatus()
    #expect(status.redispatched > 0, "the partitioned worker's requests should have been sent again")
  }

  /// How a gateway is lost in a failover test.
  enum GatewayLoss: String, CaseIterable, Sendable { case killed, cutOff }

  /// Two gateways with workers registered with both, and a client of both under load:
  /// losing one (kill -9, or packets dropped without a reset) loses no idempotent call,
  /// the calls it held finish through the other gateway long before their deadline,
  /// non-idempotent ones end at once with UNAVAILABLE, and the gateway is used again once
  /// it is back.
  @Test(arguments: GatewayLoss.allCases)
  func losingAGatewayLosesNoIdempotentCall(_ loss: GatewayLoss) async throws {
    let network = try TestNetwork(hosts: 3)
    defer { network.remove() }
    let mesh = try await HostMesh(network: network, gatewayHosts: [0, 1], gatewayArguments: ["--heartbeat-ms", "100"])
    let sleepy = ["--model", "sleep", "--latency-ms", "10", "--capacity", "16", "--max-batch-size", "8", "--heartbeat-ms", "100"]
    try await mesh.startWorker(onHost: 2, name: "sleep-a", sleepy)
    try await mesh.startWorker(onHost: 2, name: "sleep-b", sleepy)
    try await mesh.startWorker(
      onHost: 2, name: "slow", ["--model", "sleep", "--service", "slow", "--latency-ms", "2000", "--capacity", "32",
                                "--max-batch-size", "32", "--heartbeat-ms", "100"])
    let client = try mesh.client()
    defer { client.close() }
    let deadline = Duration.seconds(8)
    let load = CallLoad(concurrency: 32) { index in
      await client.result("sleep", "sleep", body: [Data("\(index)".utf8)], options: CallOptions(timeout: deadline))
    }
    // Both gateways serve the load before one is lost.
    for frontend in mesh.frontends {
      try await mesh.waitUntil("\(frontend) has served calls", gateway: frontend) { status in
        status.services.flatMap(\.versions).flatMap(\.workers).map(\.completed).reduce(0, +) > 50
      }
    }
    // Calls that must not run twice, sure to be held by both gateways (they take 2 s).
    let once = (0..<8).map { index in
      Task {
        let result = await client.result("slow", "sleep", body: [Data("once \(index)".utf8)], options: CallOptions(timeout: deadline, idempotent: false))
        return (result, ContinuousClock.now)
      }
    }
    try await mesh.waitUntil("the slow calls run", gateway: mesh.frontends[0]) { ($0.worker(named: "slow")?.inFlight ?? 0) > 0 }
    try await mesh.waitUntil("the slow calls run", gateway: mesh.frontends[1]) { ($0.worker(named: "slow")?.inFlight ?? 0) > 0 }

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
    #expect(unavailable > 0 && unavailable < once.count, "\(unavailable) of \(once.count) non-idempotent calls failed")

    // Back again: restarted, or its link healed; the workers register again and the client uses it.
    switch loss {
    case .killed: try await mesh.startGateway(onHost: 1)
    case .cutOff: try network.hosts[1].heal()
    }
    try await mesh.waitUntil("the returned gateway serves the client again", gateway: mesh.frontends[1], timeout: .seconds(15)) { status in
      (status.worker(named: "sleep-a")?.completed ?? 0) + (status.worker(named: "sleep-b")?.completed ?? 0) > 100
    }
    let outcomes = await load.stop()
    for (index, outcome) in outcomes.enumerated() {
      #expect((try? outcome.result.get().body) == [Data("\(index)".utf8)], "call \(index): \(outcome.result)")
    }
    let slowest = outcomes.map(\.latency).max() ?? .zero
    // Detection (at once for a kill; within 1 s of silence for a cut) plus the call again.
    #expect(slowest < .seconds(2), "the slowest idempotent call took \(slowest) (deadline \(deadline))")
    print("failover \(loss.rawValue): \(outcomes.count) calls, none lost, slowest \(slowest)")
  }
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
