import Foundation
import Testing
import WeftClient
import WeftProtocol

/// Model versions and A/B routing through real gateway and worker processes on loopback.
@Suite(.serialized) struct VersionRoutingTests {
  private func policy(_ service: String, _ split: [(String, Double)], _ change: (inout RoutePolicy) -> Void = { _ in }) -> RoutePolicy {
    var policy = RoutePolicy(service: service, split: split)
    change(&policy)
    return policy
  }

  /// A mesh with one echo worker per version.
  private func echoMesh(versions: [String], extra: [String: [String]] = [:]) async throws -> TestMesh {
    let mesh = try await TestMesh()
    for version in versions {
      try await mesh.startWorker(
        name: "echo-\(version)", ["--model", "echo", "--model-version", version, "--capacity", "64"] + (extra[version] ?? []))
    }
    return mesh
  }

  private func versions(of results: [Result<Response, WeftError>]) throws -> [String] {
    try results.map { try $0.get().header.modelVersion }
  }

  @Test func tenThousandRequestsFollowANinetyTenSplit() async throws {
    let mesh = try await echoMesh(versions: ["1", "2"])
    try await mesh.client.setRoute(policy("echo", [("1", 90), ("2", 10)]))
    let client = mesh.client
    let results = await runCalls(10_000, concurrency: 64) { _ in await client.result("echo", "echo", body: [Data("x".utf8)]) }
    let served = try versions(of: results)
    let share = Double(served.filter { $0 == "2" }.count) / Double(served.count)
    #expect(served.count == 10_000)
    #expect(abs(share - 0.10) <= 0.02, "version 2 served \(share * 100)%")
  }

  @Test func aUserAlwaysGetsTheSameVersionAndUsersSplitByWeight() async throws {
    let mesh = try await echoMesh(versions: ["1", "2"])
    try await mesh.client.setRoute(policy("echo", [("1", 70), ("2", 30)]))
    let client = mesh.client
    let users = 400
    let results = await runCalls(users * 5, concurrency: 32) { index in
      await client.result("echo", "echo", options: CallOptions(userID: "user-\(index % users)"))
    }
    let served = try versions(of: results)
    var byUser: [String: Set<String>] = [:]
    for (index, version) in served.enumerated() { byUser["user-\(index % users)", default: []].insert(version) }
    #expect(byUser.values.allSatisfy { $0.count == 1 }, "some user switched version")
    let onTwo = Double(byUser.values.filter { $0 == ["2"] }.count) / Double(users)
    #expect(abs(onTwo - 0.3) < 0.07, "\(onTwo * 100)% of users on version 2")
  }

  @Test func aNamedVersionOverridesThePolicyAndAnAbsentOneIsNotFound() async throws {
    let mesh = try await echoMesh(versions: ["1", "2"])
    try await mesh.client.setRoute(policy("echo", [("1", 100)]))
    let client = mesh.client
    let results = await runCalls(50, concurrency: 8) { _ in await client.result("echo", "echo", options: CallOptions(version: "2")) }
    #expect(try versions(of: results).allSatisfy { $0 == "2" })
    let absent = await client.result("echo", "echo", options: CallOptions(version: "7"))
    guard case .failure(let error) = absent else { Issue.record("version 7 answered"); return }
    #expect(error.code == .notFound)
    #expect(error.message.contains("'7'"))
  }

  @Test func aBusyVersionDoesNotHoldBackAnothersRequests() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(
      name: "slow", ["--model", "sleep", "--service", "s", "--model-version", "slow", "--latency-ms", "400", "--capacity", "1", "--max-batch-size", "1"])
    try await mesh.startWorker(
      name: "fast", ["--model", "sleep", "--service", "s", "--model-version", "fast", "--latency-ms", "5", "--capacity", "1", "--max-batch-size", "1"])
    let client = mesh.client
    // Both versions take one request at a time, so both queue. Six requests for the slow
    // version: one runs, five wait in its queue for 0.4 s each; the fast ones must not wait
    // behind them.
    async let slow = runCalls(6, concurrency: 6) { _ in
      await client.result("s", "sleep", options: CallOptions(timeout: .seconds(10), version: "slow"))
    }
    try await mesh.waitUntil("five slow requests wait in the queue") { status in
      (status.services.first { $0.name == "s" }?.queueDepth ?? 0) >= 5
    }
    let started = ContinuousClock.now
    let fast = await runCalls(20, concurrency: 4) { _ in
      await client.result("s", "sleep", options: CallOptions(timeout: .seconds(10), version: "fast"))
    }
    let elapsed = ContinuousClock.now - started
    #expect(try versions(of: fast).allSatisfy { $0 == "fast" })
    #expect(elapsed < .milliseconds(1_000), "fast requests took \(elapsed) behind the slow version's queue")
    #expect(try versions(of: await slow) == Array(repeating: "slow", count: 6))
  }

  @Test func shadowRepliesNeverReachTheClientAndShadowFailureDoesNotHurt() async throws {
    // The shadow version fails every request, slowly.
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "s-1", ["--model", "sleep", "--service", "s", "--model-version", "1", "--latency-ms", "2", "--capacity", "32"])
    try await mesh.startWorker(
      name: "s-3",
      ["--model", "sleep", "--service", "s", "--model-version", "3", "--latency-ms", "300", "--capacity", "8",
       "--inject-failure-rate", "1"])
    try await mesh.client.setRoute(policy("s", [("1", 1)]) { $0.shadow.version = "3"; $0.shadow.share = 0.5 })
    let before = try await mesh.status()
    let client = mesh.client
    let count = 400
    let started = ContinuousClock.now
    let results = await runCalls(count, concurrency: 16) { _ in
      await client.result("s", "sleep", options: CallOptions(timeout: .seconds(10)))
    }
    let elapsed = ContinuousClock.now - started
    #expect(try versions(of: results).allSatisfy { $0 == "1" }, "a reply came from the shadow")
    // Each primary takes about 2 ms; waiting on a 300 ms shadow would take far longer.
    #expect(elapsed < .seconds(10), "\(elapsed)")
    let after = try await mesh.status()
    func okReplies(_ status: MeshStatus) -> UInt64 { status.replies.first { $0.code == "OK" }?.count ?? 0 }
    // One reply per request, plus the first status call's own.
    #expect(okReplies(after) - okReplies(before) == UInt64(count) + 1)
    let shadow = after.services.first { $0.name == "s" }!.versions.first { $0.version == "3" }!
    #expect(shadow.served.requests == 0)
    #expect(shadow.shadow.requests + after.services.first { $0.name == "s" }!.route.shadowSkipped > 0)
    #expect(shadow.shadow.errors.allSatisfy { $0.code == "INTERNAL" || $0.code == "DEADLINE_EXCEEDED" })
  }

  @Test func changingThePolicyUnderLoadLosesNoRequest() async throws {
    let mesh = try await echoMesh(versions: ["1", "2", "3"])
    let client = mesh.client
    let policies = [
      policy("echo", [("1", 90), ("2", 10)]), policy("echo", [("2", 1), ("3", 1)]),
      policy("echo", [("3", 1)]) { $0.shadow.version = "1"; $0.shadow.share = 0.3 }, policy("echo", [("1", 1), ("2", 1), ("3", 1)]),
    ]
    async let load = runCalls(4_000, concurrency: 48) { index in
      await client.result("echo", "echo", body: [Data("\(index)".utf8)], options: CallOptions(userID: "u\(index % 97)"))
    }
    var answered = 0
    for round in 0..<12 {
      // Each change lands under load: after at least 150 more replies.
      let before = answered
      try await mesh.waitUntil("150 more replies") { status in
        answered = status.replies.reduce(0) { $0 + Int($1.count) }
        return answered >= before + 150
      }
      if round % 5 == 4 {
        try await client.clearRoute(service: "echo")
      } else {
        try await client.setRoute(policies[round % policies.count])
      }
    }
    let results = await load
    for (index, result) in results.enumerated() {
      let response = try result.get()
      #expect(String(decoding: response.body.first ?? Data(), as: UTF8.self) == "\(index)")
    }
  }

  @Test func aVersionWithoutWorkersGetsNoTrafficAndItsShareMoves() async throws {
    let mesh = try await echoMesh(versions: ["1", "2"])
    try await mesh.client.setRoute(policy("echo", [("1", 50), ("2", 50)]))
    let client = mesh.client
    let first = try versions(of: await runCalls(200, concurrency: 16) { _ in await client.result("echo", "echo") })
    #expect(first.contains("2"))
    // Version 2's only worker drains and leaves.
    try #require(mesh.worker(named: "echo-2") != nil)
    mesh.worker(named: "echo-2")!.signal(SIGTERM)
    try await mesh.waitUntil("version 2 has no workers") { status in
      !(status.services.first { $0.name == "echo" }?.versions.contains { $0.version == "2" && !$0.workers.isEmpty } ?? true)
    }
    let users = await runCalls(300, concurrency: 16) { index in
      await client.result("echo", "echo", options: CallOptions(userID: "user-\(index)"))
    }
    #expect(try versions(of: users).allSatisfy { $0 == "1" })
    let table = try await client.routes()
    #expect(table.routes.first?.versions.first { $0.version == "2" }?.live == false)
  }

  @Test func requestsOfAKilledVersionFinishOnTheOtherOne() async throws {
    let mesh = try await TestMesh()
    for version in ["1", "2"] {
      try await mesh.startWorker(
        name: "s-\(version)",
        ["--model", "sleep", "--service", "s", "--model-version", version, "--latency-ms", "100", "--capacity", "4",
         "--max-batch-size", "4", "--heartbeat-ms", "100"])
    }
    try await mesh.client.setRoute(policy("s", [("1", 50), ("2", 50)]))
    let client = mesh.client
    async let load = runCalls(120, concurrency: 24) { index in
      await client.result("s", "sleep", options: CallOptions(timeout: .seconds(15), userID: "user-\(index)"))
    }
    try await mesh.waitUntil("s-2 has requests in flight") { status in
      status.services.contains { $0.versions.contains { $0.workers.contains { $0.name == "s-2" && $0.inFlight > 0 } } }
    }
    mesh.worker(named: "s-2")!.signal(SIGKILL)
    let results = await load
    let served = try versions(of: results)  // throws if any request failed
    #expect(served.count == 120)
    #expect(served.suffix(40).allSatisfy { $0 == "1" }, "\(served)")
    let status = try await mesh.status()
    #expect(status.redispatched > 0, "the killed worker held requests; they ran again")
  }

  @Test func aRampRollsBackWhenTheNewVersionFails() async throws {
    let mesh = try await echoMesh(versions: ["1", "2"], extra: ["2": ["--inject-failure-rate", "0.5"]])
    try await mesh.client.setRoute(
      policy("echo", [("1", 1)]) { ramp in
        ramp.ramp.version = "2"
        ramp.ramp.shares = [0.5, 1]
        ramp.ramp.stepMs = 600_000
        ramp.ramp.rollbackErrorRate = 0.1
        ramp.ramp.rollbackMinRequests = 20
      })
    let client = mesh.client
    _ = await runCalls(300, concurrency: 8) { _ in await client.result("echo", "echo") }
    try await mesh.waitUntil("the ramp rolls back", timeout: .seconds(5)) { status in
      status.services.first { $0.name == "echo" }?.route.rampPhase == .rolledBack
    }
    let table = try await client.routes()
    #expect(table.routes[0].rampMessage.contains("server errors"))
    let after = try versions(of: await runCalls(200, concurrency: 8) { _ in await client.result("echo", "echo") })
    #expect(after.allSatisfy { $0 == "1" })
  }

  @Test func theBanditMovesTrafficToTheBetterVersionAndKeepsTheFloor() async throws {
    let mesh = try await echoMesh(versions: ["a", "b"])
    try await mesh.client.setRoute(policy("echo", [("a", 1), ("b", 1)]) { $0.bandit.floor = 0.05 })
    let client = mesh.client
    var random = SystemRandomNumberGenerator()
    var lastRound: [String] = []
    var credited = 0
    // Rounds of 100 requests; every reply is rewarded by its version's hidden rate.
    for _ in 0..<15 {
      lastRound = try versions(of: await runCalls(100, concurrency: 16) { _ in await client.result("echo", "echo") })
      let rewards = lastRound.map { version in
        (service: "echo", version: version, reward: Double.random(in: 0..<1, using: &random) < (version == "a" ? 0.8 : 0.3) ? 1.0 : 0.0)
      }
      try await client.reward(rewards)
      credited += rewards.count
      // The gateway recomputes the shares at most every 50 ms: wait until they count these rewards.
      let deadline = ContinuousClock.now + .seconds(5)
      while try await client.routes().routes.first?.banditRewards ?? 0 < credited && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(10))
      }
    }
    let onA = Double(lastRound.filter { $0 == "a" }.count) / Double(lastRound.count)
    #expect(onA >= 0.8, "version a served \(onA * 100)% of the last round")
    let shares = try await client.routes().routes[0].versions
    #expect(shares.first { $0.version == "b" }!.share >= 0.05 - 1e-9, "\(shares)")
    let status = try await mesh.status()
    let a = status.services.first { $0.name == "echo" }!.versions.first { $0.version == "a" }!
    #expect(a.rewards > 0)
    #expect(abs(a.meanReward - 0.8) < 0.1)
  }

  @Test func badPoliciesAndRewardsAreRefusedWithTheReason() async throws {
    let mesh = try await echoMesh(versions: ["1"])
    do {
      try await mesh.client.setRoute(policy("echo", [("1", 1), ("1", 2)]))
      Issue.record("a split naming a version twice was taken")
    } catch let error as WeftError {
      #expect(error.code == .invalidArgument)
      #expect(error.message.contains("twice"))
    }
    do {
      try await mesh.client.reward([("echo", "1", 2.0)])
      Issue.record("a reward of 2 was taken")
    } catch let error as WeftError {
      #expect(error.code == .invalidArgument)
    }
    let garbage = await mesh.client.result(WeftMeshService.name, WeftMeshService.routeSet.name, body: [Data([0xff, 0xff])])
    guard case .failure(let error) = garbage else { Issue.record("a malformed RouteUpdate was taken"); return }
    #expect(error.code == .invalidArgument)
    #expect(error.message.contains("RouteUpdate"))
  }

  @Test func policiesAreBoundedAndClearingOneMakesRoom() async throws {
    let mesh = try await TestMesh()
    // Policies may name services no worker serves yet, so their number is what bounds them.
    for index in 0..<1_024 {
      try await mesh.client.setRoute(policy("future-\(index)", [("1", 1)]))
    }
    do {
      try await mesh.client.setRoute(policy("one-too-many", [("1", 1)]))
      Issue.record("a policy past the limit was taken")
    } catch let error as WeftError {
      #expect(error.code == .resourceExhausted)
    }
    // Replacing an existing service's policy does not count as a new one.
    try await mesh.client.setRoute(policy("future-0", [("2", 1)]))
    try await mesh.client.clearRoute(service: "future-1")
    let table = try await mesh.client.setRoute(policy("one-too-many", [("1", 1)]))
    #expect(table.routes.count == 1_024)
  }

  @Test func theConfigsRoutesLoadAtStartAndAgainOnSighup() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-routes-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let config = directory.appendingPathComponent("weft.yaml")
    try "routes:\n  - service: echo\n    split: \"1=90, 2=10\"\n".write(to: config, atomically: true, encoding: .utf8)
    let mesh = try await TestMesh(gatewayArguments: ["--config", config.path])
    var table = try await mesh.client.routes()
    #expect(table.routes.map { $0.policy.split.map(\.weight) } == [[90, 10]])

    try "routes:\n  - service: echo\n    split: \"2=1\"\n    shadow: \"1=25\"\n".write(to: config, atomically: true, encoding: .utf8)
    mesh.gateway.signal(SIGHUP)
    let deadline = ContinuousClock.now + .seconds(10)
    repeat {
      try await Task.sleep(for: .milliseconds(50))
      table = try await mesh.client.routes()
    } while table.routes.first?.policy.split.count != 1 && ContinuousClock.now < deadline
    #expect(table.routes.first?.policy.split.map(\.version) == ["2"])
    #expect(table.routes.first?.policy.shadow.share == 0.25)

    // A broken edit keeps the routes the gateway has, and the gateway keeps running.
    try "routes:\n  - service: echo\n    split: \"2=-1\"\n".write(to: config, atomically: true, encoding: .utf8)
    mesh.gateway.signal(SIGHUP)
    #expect(await mesh.gateway.waitForLog(containing: "routes not reloaded"), "\(mesh.gateway.log)")
    #expect(try await mesh.client.routes().routes.first?.policy.split.map(\.version) == ["2"])
  }
}
