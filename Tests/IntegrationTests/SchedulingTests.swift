import Foundation
import Testing
import WeftClient
import WeftProtocol

/// Load balancing, batching, queue bounds: real gateway and worker processes on loopback.
@Suite(.serialized) struct SchedulingTests {
  @Test func loadSpreadsAcrossWorkersInProportionToCapacity() async throws {
    let mesh = try await TestMesh()
    for (name, capacity) in [("w1", 1), ("w2", 2), ("w4", 4)] {
      // Each batch takes 40 ms whatever its size, so a worker's throughput follows its capacity.
      try await mesh.startWorker(
        name: name,
        ["--model", "sleep", "--latency-ms", "40", "--capacity", "\(capacity)", "--max-batch-size", "\(capacity)",
         "--max-batch-delay-ms", "5"])
    }
    let client = mesh.client
    let results = await runCalls(210, concurrency: 60) { _ in await client.result("sleep", "sleep") }
    var counts: [String: Int] = [:]
    for result in results { counts[try result.get().header.workerID, default: 0] += 1 }
    let total = Double(results.count)
    let shares = counts.mapValues { Double($0) / total }
    // Expected 1/7, 2/7, 4/7 of the requests; allow 8 points for scheduling noise on 2 cores.
    #expect(abs((shares["w1"] ?? 0) - 1.0 / 7) < 0.08, "shares: \(shares)")
    #expect(abs((shares["w2"] ?? 0) - 2.0 / 7) < 0.08, "shares: \(shares)")
    #expect(abs((shares["w4"] ?? 0) - 4.0 / 7) < 0.08, "shares: \(shares)")
  }

  @Test func batchingFormsBatchesUnderConcurrentLoad() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(
      name: "b", ["--model", "sleep", "--latency-ms", "20", "--max-batch-size", "8", "--max-batch-delay-ms", "10",
                  "--capacity", "16"])
    let client = mesh.client
    let results = await runCalls(64, concurrency: 32) { _ in await client.result("sleep", "sleep") }
    let sizes = try results.map { Int(try $0.get().header.batchSize) }
    #expect(sizes.max()! > 1, "batch sizes: \(sizes)")
    #expect(sizes.max()! <= 8, "batch sizes: \(sizes)")
  }

  /// Under heavy load the gateway's libzmq I/O thread is batch-scheduled (it then writes
  /// a run of replies in one go instead of taking the socket thread's CPU once per
  /// reply); once calls come one at a time again, it is back to the default.
  @Test func gatewayIOThreadIsBatchScheduledOnlyUnderHeavyLoad() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(
      name: "s", ["--model", "sleep", "--latency-ms", "400", "--capacity", "64", "--max-batch-size", "64", "--max-batch-delay-ms", "5"])
    let client = mesh.client
    let gateway = mesh.gateway.pid
    #expect(ioThreadPolicies(of: gateway) == [Self.normalPolicy])
    async let calls = runCalls(48, concurrency: 48) { _ in await client.result("sleep", "sleep") }
    var underLoad: [Int32] = []
    for _ in 0..<30 where underLoad != [Self.batchPolicy] {
      try await Task.sleep(for: .milliseconds(10))
      underLoad = ioThreadPolicies(of: gateway)
    }
    #expect(underLoad == [Self.batchPolicy])
    #expect(await calls.allSatisfy { (try? $0.get()) != nil })
    // Light for longer than the switch waits; the next call's turn of the loop switches back.
    try await Task.sleep(for: .milliseconds(100))
    _ = try await client.result("sleep", "sleep").get()
    #expect(ioThreadPolicies(of: gateway) == [Self.normalPolicy])
  }

  /// `SCHED_BATCH` and `SCHED_OTHER` in <linux/sched.h>.
  static let (batchPolicy, normalPolicy): (Int32, Int32) = (3, 0)

  /// The scheduling policy of each libzmq I/O thread of process `pid` (field 41 of each
  /// thread's /proc stat).
  private func ioThreadPolicies(of pid: Int32) -> [Int32] {
    let tasks = "/proc/\(pid)/task"
    let threads = (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []
    return threads.compactMap { thread in
      guard let name = try? String(contentsOfFile: "\(tasks)/\(thread)/comm", encoding: .utf8), name.contains("ZMQbg/IO/"),
        let stat = try? String(contentsOfFile: "\(tasks)/\(thread)/stat", encoding: .utf8),
        let end = stat.lastIndex(of: ")")
      else { return nil }
      // Fields from the third on follow the name's closing parenthesis.
      let fields = stat[stat.index(after: end)...].split(separator: " ")
      return fields.count > 38 ? Int32(fields[38]) : nil
    }
  }

  @Test func queueOverflowGetsResourceExhausted() async throws {
    let mesh = try await TestMesh(gatewayArguments: ["--queue-limit", "2"])
    try await mesh.startWorker(
      name: "slow", ["--model", "sleep", "--latency-ms", "600", "--capacity", "1", "--max-batch-size", "1"])
    let client = mesh.client
    let results = await runCalls(10, concurrency: 10) { _ in await client.result("sleep", "sleep") }
    let ok = results.filter { (try? $0.get()) != nil }.count
    let exhausted = results.filter {
      if case .failure(let error) = $0 { return error.code == .resourceExhausted }
      return false
    }
    // One running on the worker plus two in the queue; the other seven are refused at once.
    #expect(ok == 3)
    #expect(exhausted.count == 7)
    if case .failure(let error) = exhausted.first { #expect(error.message.contains("queued")) }
  }

  @Test func streamingMethodSendsEachPartBeforeTheFinalReply() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "e", ["--model", "echo"])
    var parts: [String] = []
    var finals = 0
    let body = ["one", "two", "three"].map { Data($0.utf8) }
    for try await response in mesh.client.stream("echo", "stream", body: body) {
      if response.isFinal { finals += 1 } else { parts.append(String(decoding: response.body[0], as: UTF8.self)) }
    }
    #expect(parts == ["one", "two", "three"])
    #expect(finals == 1)
  }

  /// Echo runs on the worker's socket thread, many requests to one `infer` call: each
  /// reply must still go to its own call, timed as part of its batch.
  @Test func inlineBatchesAnswerEachCallWithItsOwnReply() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "e", ["--model", "echo"])
    let client = mesh.client
    let results = await runCalls(256, concurrency: 64) { index in
      await client.result("echo", "echo", body: [Data("call \(index)".utf8)])
    }
    var sizes: [UInt32] = []
    for (index, result) in results.enumerated() {
      let response = try result.get()
      #expect(response.body == [Data("call \(index)".utf8)])
      sizes.append(response.header.batchSize)
    }
    #expect(sizes.max()! > 1, "batch sizes: \(sizes)")
    #expect(sizes.max()! <= 64, "batch sizes: \(sizes)")
  }

  @Test func echoReturnsBodyAndMetadataAndTimings() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "e", ["--model", "echo"])
    let payload = Data((0..<70_000).map { UInt8($0 % 251) })
    let options = CallOptions(metadata: ["trace": .text("abc")])
    let response = try await mesh.client.call("echo", "echo", body: [Data("head".utf8), payload], options: options)
    #expect(response.body == [Data("head".utf8), payload])
    #expect(response.header.metadata["trace"]?.text == "abc")
    #expect(response.header.workerID == "e")
    #expect(response.header.totalUs > 0)
    #expect(response.isFinal)
  }
}
