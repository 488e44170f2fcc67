import Foundation
import Testing
import WeftModels
import WeftProtocol

@testable import WeftWorker

@Suite struct BatcherTests {
  private func job(_ dispatchID: UInt64, method: String = "embed", link: Int = 0) -> Job {
    var header = RequestHeader()
    header.method = method
    header.requestID = dispatchID
    return Job(
      link: link, generation: 0, dispatchID: dispatchID,
      request: InferenceRequest(method: method, header: header, body: [], deadline: .now + .seconds(5)),
      receivedAt: MonotonicClock.now())
  }

  @Test func batchesHoldOneMethodUpToTheLimitInArrivalOrder() {
    let batcher = Batcher(maxBatchSize: 3, maxBatchDelayMicroseconds: 0)
    for id in 1...4 as ClosedRange<UInt64> { batcher.submit(job(id)) }
    batcher.submit(job(5, method: "similarity"))
    batcher.submit(job(6))
    #expect(batcher.nextBatch()?.map(\.dispatchID) == [1, 2, 3])
    #expect(batcher.nextBatch()?.map(\.dispatchID) == [4, 6])
    #expect(batcher.nextBatch()?.map(\.dispatchID) == [5])
  }

  @Test func waitsUpToTheDelayForABatchToFill() {
    let batcher = Batcher(maxBatchSize: 4, maxBatchDelayMicroseconds: 200_000)
    batcher.submit(job(1))
    let late = job(2)
    DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) { batcher.submit(late) }
    let started = ContinuousClock.now
    let batch = batcher.nextBatch()
    let waited = ContinuousClock.now - started
    #expect(batch?.count == 2 || waited >= .milliseconds(190))
    #expect(waited < .seconds(2))
  }

  @Test func cancelRemovesOnlyAQueuedJob() {
    let batcher = Batcher(maxBatchSize: 8, maxBatchDelayMicroseconds: 0)
    batcher.submit(job(1, link: 0))
    batcher.submit(job(1, link: 1))
    #expect(batcher.cancel(link: 1, dispatchID: 1)?.link == 1)
    #expect(batcher.cancel(link: 1, dispatchID: 1) == nil)
    #expect(batcher.count == 1)
  }

  @Test func stopEndsTheBatchStreamOnceEmpty() {
    let batcher = Batcher(maxBatchSize: 8, maxBatchDelayMicroseconds: 1_000_000)
    batcher.submit(job(1))
    batcher.stop()
    #expect(batcher.nextBatch()?.count == 1)
    #expect(batcher.nextBatch() == nil)
  }
}

@Suite struct BuiltinModelTests {
  private func request(_ method: String, _ body: [String], metadata: [String: MetadataValue] = [:]) -> InferenceRequest {
    var header = RequestHeader()
    header.method = method
    header.metadata = metadata
    return InferenceRequest(method: method, header: header, body: body.map { Data($0.utf8) }, deadline: .now + .seconds(5))
  }

  @Test func echoReturnsBodiesAndStreamsFrames() throws {
    let model = EchoModel()
    let collected = PartialCollector()
    let responses = try model.infer(
      [request("echo", ["a", "b"]), request("stream", ["x", "y"])], partials: PartialSink { collected.add($0, $1) })
    #expect(responses[0].body == [Data("a".utf8), Data("b".utf8)])
    #expect(responses[1].body.isEmpty)
    #expect(collected.items.map(\.0) == [1, 1])
    #expect(collected.items.map { $0.1.body } == [[Data("x".utf8)], [Data("y".utf8)]])
  }

  @Test func sleepTakesItsLatencyPerBatch() throws {
    let model = SleepModel(latency: .milliseconds(30), maxBatchSize: 4)
    let started = ContinuousClock.now
    let responses = try model.infer(Array(repeating: request("sleep", ["z"]), count: 4), partials: .discard)
    let took = ContinuousClock.now - started
    #expect(responses.count == 4)
    #expect(took >= .milliseconds(30) && took < .milliseconds(500))
    let longer = ContinuousClock.now
    var eighty = MetadataValue()
    eighty.text = "80"
    _ = try model.infer([request("sleep", [], metadata: ["sleep_ms": eighty])], partials: .discard)
    #expect(ContinuousClock.now - longer >= .milliseconds(80))
  }
}

final class PartialCollector: @unchecked Sendable {
  private let lock = NSLock()
  private var stored: [(Int, InferenceResponse)] = []
  func add(_ index: Int, _ response: InferenceResponse) { lock.withLock { stored.append((index, response)) } }
  var items: [(Int, InferenceResponse)] { lock.withLock { stored } }
}
