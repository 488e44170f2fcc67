import Foundation
import Synchronization
import Testing
import WeftClient
import WeftProtocol

/// Worker death, eviction, deadlines and draining, with real processes and signals.
@Suite(.serialized) struct FailureTests {
  @Test func killingAWorkerMidLoadLosesNoRequest() async throws {
    let mesh = try await TestMesh(gatewayArguments: ["--heartbeat-ms", "100"])
    let sleepy = ["--model", "sleep", "--latency-ms", "25", "--capacity", "4", "--max-batch-size", "4",
                  "--heartbeat-ms", "100"]
    let victim = try await mesh.startWorker(name: "victim", sleepy)
    try await mesh.startWorker(name: "survivor", sleepy)
    let client = mesh.client
    let started = Mutex(0)
    let heldAtKill = Mutex<UInt32?>(nil)
    let results = await runCalls(300, concurrency: 16) { index in
      if started.withLock({ $0 += 1; return $0 }) == 100 {
        // Kill it while it holds requests, so the kill really tests re-dispatch.
        try? await mesh.waitUntil("the victim holds requests", timeout: .seconds(5)) { status in
          heldAtKill.withLock { $0 = status.worker(named: "victim")?.inFlight }
          return (status.worker(named: "victim")?.inFlight ?? 0) > 0
        }
        victim.signal(SIGKILL)
      }
      return await client.result("sleep", "sleep", body: [Data("\(index)".utf8)], options: CallOptions(timeout: .seconds(20)))
    }
    for (index, result) in results.enumerated() {
      let response = try result.get()
      #expect(response.body == [Data("\(index)".utf8)])
    }
    let status = try await mesh.status()
    #expect(
      status.redispatched > 0,
      "requests on the killed worker should have been sent again; it held \(String(describing: heldAtKill.withLock { $0 })) just before; gateway: \(mesh.gateway.log)")
    #expect(status.worker(named: "victim") == nil)
  }

  @Test func silentWorkerIsEvictedAndRejoinsWhenItWakes() async throws {
    let mesh = try await TestMesh(gatewayArguments: ["--heartbeat-ms", "100"])
    let worker = try await mesh.startWorker(name: "sleeper", ["--model", "echo", "--heartbeat-ms", "100"])
    worker.signal(SIGSTOP)
    let stopped = ContinuousClock.now
    try await mesh.waitUntil("the stopped worker is evicted", timeout: .seconds(5)) { $0.worker(named: "sleeper") == nil }
    // Three silent 100 ms intervals counted from its last heartbeat, which came at most
    // one interval before the stop.
    #expect(ContinuousClock.now - stopped >= .milliseconds(200))
    let refused = await mesh.client.result("echo", "echo")
    #expect(refused.failureCode == .unavailable)

    worker.signal(SIGCONT)
    try await mesh.waitUntil("the worker registers again", timeout: .seconds(10)) { $0.worker(named: "sleeper") != nil }
    let served = try await mesh.client.call("echo", "echo", body: [Data("back".utf8)])
    #expect(served.header.workerID == "sleeper")
  }

  @Test func expiredDeadlineAnswersInTimeAndCancelsQueuedWork() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(
      name: "slow", ["--model", "sleep", "--latency-ms", "1500", "--capacity", "2", "--max-batch-size", "1"])
    let client = mesh.client
    // The first request occupies the compute thread for 1.5 s.
    async let first = client.result("sleep", "sleep", options: CallOptions(timeout: .seconds(10)))
    try await mesh.waitUntil("the first request runs") { $0.worker(named: "slow")?.inFlight == 1 }
    // The second waits in the worker's queue and expires there.
    let start = ContinuousClock.now
    let second = await client.result("sleep", "sleep", options: CallOptions(timeout: .milliseconds(200)))
    let waited = ContinuousClock.now - start
    #expect(second.failureCode == .deadlineExceeded)
    #expect(waited >= .milliseconds(190) && waited < .milliseconds(1_000), "waited \(waited)")
    // CANCEL took it out of the worker's queue: the slot is free before the first one finishes.
    try await mesh.waitUntil("the cancelled request frees its slot", timeout: .seconds(1)) {
      $0.worker(named: "slow")?.inFlight == 1
    }
    #expect(try await first.get().status == .ok)
  }

  /// Cancelling a call's task ends it at once, and the gateway takes it out of its queue,
  /// or tells its worker, which frees the slot long before the deadline (without the
  /// cancel the request would hold it until it had run).
  @Test func cancellingACallFreesItsPlaceAtTheGatewayAndTheWorker() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(
      name: "slow", ["--model", "sleep", "--latency-ms", "1500", "--capacity", "2", "--max-batch-size", "1"])
    let client = mesh.client
    let long = CallOptions(timeout: .seconds(20))
    // One runs, one waits at the worker, one waits in the gateway's queue.
    async let running = client.result("sleep", "sleep", options: long)
    try await mesh.waitUntil("the first call runs") { $0.worker(named: "slow")?.inFlight == 1 }
    let atWorker = Task { await client.result("sleep", "sleep", options: long) }
    try await mesh.waitUntil("the second call waits at the worker") { $0.worker(named: "slow")?.inFlight == 2 }
    let atGateway = Task { await client.result("sleep", "sleep", options: long) }
    try await mesh.waitUntil("the third call waits at the gateway") { $0.services.first { $0.name == "sleep" }?.queueDepth == 1 }

    let cancelled = ContinuousClock.now
    atGateway.cancel()
    #expect(await atGateway.value.failureCode == .cancelled)
    try await mesh.waitUntil("the gateway's queue is empty", timeout: .seconds(1)) { $0.services.first { $0.name == "sleep" }?.queueDepth == 0 }
    atWorker.cancel()
    #expect(await atWorker.value.failureCode == .cancelled)
    try await mesh.waitUntil("the worker's slot is free", timeout: .seconds(1)) { $0.worker(named: "slow")?.inFlight == 1 }
    #expect(ContinuousClock.now - cancelled < .seconds(1), "the first call, still running, would have held it for 1.5 s")
    #expect(try await mesh.status().cancelledByClients == 2)
    #expect(try await running.get().status == .ok)
  }

  @Test func sigtermDrainsAWorkerWithoutFailingItsRequests() async throws {
    let mesh = try await TestMesh()
    let worker = try await mesh.startWorker(
      name: "drainer", ["--model", "sleep", "--latency-ms", "500", "--capacity", "4", "--max-batch-size", "4",
                        "--max-batch-delay-ms", "20"])
    let client = mesh.client
    async let results = runCalls(4, concurrency: 4) { _ in await client.result("sleep", "sleep") }
    try await mesh.waitUntil("four requests are on the worker") { $0.worker(named: "drainer")?.inFlight == 4 }
    worker.signal(SIGTERM)
    for result in await results {
      switch result {
      case .success(let response): #expect(response.header.workerID == "drainer")
      case .failure(let error): Issue.record("\(error)\ngateway: \(mesh.gateway.log)\nworker: \(worker.log)")
      }
    }
    #expect(await worker.waitForExit(timeout: .seconds(10)) == 0)
    try await mesh.waitUntil("the drained worker is gone") { $0.worker(named: "drainer") == nil }
  }

  @Test func clientDeadlineHoldsWhenNoGatewayAnswers() async throws {
    // Nothing listens here: the client's own deadline must end the call.
    let client = try WeftClient(gateways: ["tcp://127.0.0.1:1"])
    defer { client.close() }
    let start = ContinuousClock.now
    let result = await client.result("echo", "echo", options: CallOptions(timeout: .milliseconds(300)))
    #expect(result.failureCode == .deadlineExceeded)
    #expect(ContinuousClock.now - start < .seconds(2))
  }
}

extension Result where Failure == WeftError {
  var failureCode: StatusCode? {
    if case .failure(let error) = self { return error.code }
    return nil
  }
}
