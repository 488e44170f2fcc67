import Foundation
import Testing
import WeftModels
import WeftProtocol

@testable import WeftWorker

/// A job of `method` that arrived at `receivedAt` microseconds.
private func job(_ dispatchID: UInt64, method: String = "embed", link: Int = 0, at receivedAt: UInt64 = 0) -> Job {
  var header = RequestHeader()
  header.method = method
  header.requestID = dispatchID
  let ticket = ReplyTicket(
    link: link, generation: 0, registration: 0, dispatchID: dispatchID, requestID: dispatchID, receivedAt: receivedAt,
    inlineHeaders: false)
  return Job(ticket, request: InferenceRequest(method: method, header: header, body: [], deadline: .now + .seconds(5)))
}

/// The batching rule with a stepped clock: no test here waits.
@Suite struct BatchQueueTests {
  private func ids(_ decision: BatchQueue.Decision) -> [UInt64]? {
    guard case .run(let batch) = decision else { return nil }
    return batch.map(\.ticket.dispatchID)
  }

  private func waitsUntil(_ decision: BatchQueue.Decision) -> UInt64? {
    guard case .wait(let until) = decision else { return nil }
    return until
  }

  @Test func batchesHoldOneMethodUpToTheLimitInArrivalOrder() {
    var queue = BatchQueue(maxBatchSize: 3, maxBatchDelay: 0)
    for id in 1...4 as ClosedRange<UInt64> { queue.append(job(id)) }
    queue.append(job(5, method: "similarity"))
    queue.append(job(6))
    #expect(ids(queue.decide(at: 0, flushing: false)) == [1, 2, 3])
    #expect(ids(queue.decide(at: 0, flushing: false)) == [4, 6])
    #expect(ids(queue.decide(at: 0, flushing: false)) == [5])
    guard case .idle = queue.decide(at: 0, flushing: false) else { Issue.record("expected idle"); return }
  }

  /// Two requests ran together: the load is concurrent, so batches wait for company again.
  private func afterABatchOfTwo(maxBatchSize: Int, maxBatchDelay: UInt64) -> BatchQueue {
    var queue = BatchQueue(maxBatchSize: maxBatchSize, maxBatchDelay: maxBatchDelay)
    queue.append(job(101))
    queue.append(job(102))
    _ = queue.decide(at: 0, flushing: true)
    return queue
  }

  @Test func aBatchWaitsForTheDelayAfterItsOldestRequestThenRuns() {
    var queue = afterABatchOfTwo(maxBatchSize: 4, maxBatchDelay: 200)
    queue.append(job(1, at: 1_000))
    #expect(waitsUntil(queue.decide(at: 1_000, flushing: false)) == 1_200)
    queue.append(job(2, at: 1_150))
    // The later arrival does not move the deadline: it is the oldest request's.
    #expect(waitsUntil(queue.decide(at: 1_150, flushing: false)) == 1_200)
    #expect(waitsUntil(queue.decide(at: 1_199, flushing: false)) == 1_200)
    #expect(ids(queue.decide(at: 1_200, flushing: false)) == [1, 2])
  }

  /// Calls one at a time: the first runs at once, and so does each lone one after a batch
  /// of one; a second request queued beside one makes the batch wait, and the lone request
  /// after a batch of two waits too.
  @Test func aLoneRequestAfterABatchOfOneRunsAtOnce() {
    var queue = BatchQueue(maxBatchSize: 4, maxBatchDelay: 5_000)
    queue.append(job(1, at: 100))
    #expect(ids(queue.decide(at: 100, flushing: false)) == [1])
    queue.append(job(2, at: 9_000))
    #expect(ids(queue.decide(at: 9_000, flushing: false)) == [2])
    queue.append(job(3, at: 20_000))
    queue.append(job(4, at: 20_010))
    #expect(waitsUntil(queue.decide(at: 20_010, flushing: false)) == 25_000)
    #expect(ids(queue.decide(at: 25_000, flushing: false)) == [3, 4])
    queue.append(job(5, at: 30_000))
    #expect(waitsUntil(queue.decide(at: 30_000, flushing: false)) == 35_000)
    #expect(ids(queue.decide(at: 35_000, flushing: false)) == [5])
    queue.append(job(6, at: 40_000))
    #expect(ids(queue.decide(at: 40_000, flushing: false)) == [6])
  }

  /// A worker of capacity 4 ran a batch of 4; three of the four requests that refill its
  /// slots queued during the run, the fourth comes just after it. The three wait for it
  /// (from when the compute thread is back, though they arrived long before), so the
  /// batches stay whole rather than taking turns as 3 and 1.
  @Test func requestsQueuedDuringABatchWaitForTheSlotsItFreed() {
    var queue = BatchQueue(maxBatchSize: 4, maxBatchDelay: 5_000, capacity: 4)
    for id in 1...4 as ClosedRange<UInt64> { queue.append(job(id)) }
    #expect(ids(queue.decide(at: 0, flushing: false)) == [1, 2, 3, 4])
    for id in 5...7 as ClosedRange<UInt64> { queue.append(job(id, at: 1_000 + id)) }
    queue.computeThreadReady(at: 40_000)
    #expect(waitsUntil(queue.decide(at: 40_000, flushing: false)) == 45_000)
    queue.append(job(8, at: 40_300))
    #expect(ids(queue.decide(at: 40_300, flushing: false)) == [5, 6, 7, 8])
  }

  /// A worker of capacity 2 ran a batch of one; the other request queued during it. It is
  /// not a call coming alone, so it waits for the refill of the slot just freed.
  @Test func aLoneRequestQueuedDuringABatchWaitsForTheOtherSlot() {
    var queue = BatchQueue(maxBatchSize: 2, maxBatchDelay: 5_000, capacity: 2)
    queue.append(job(1))
    #expect(ids(queue.decide(at: 0, flushing: false)) == [1])
    queue.append(job(2, at: 1_000))
    queue.computeThreadReady(at: 40_000)
    #expect(waitsUntil(queue.decide(at: 40_000, flushing: false)) == 45_000)
    queue.append(job(3, at: 40_200))
    #expect(ids(queue.decide(at: 40_200, flushing: false)) == [2, 3])
  }

  /// With as many requests queued as the worker may hold, none more can come: no wait.
  @Test func aQueueHoldingTheWholeCapacityRunsAtOnce() {
    var queue = BatchQueue(maxBatchSize: 8, maxBatchDelay: 5_000, capacity: 3)
    for id in 1...3 as ClosedRange<UInt64> { queue.append(job(id)) }
    #expect(ids(queue.decide(at: 0, flushing: false)) == [1, 2, 3])
    queue.append(job(4, at: 100))
    queue.append(job(5, at: 200))
    queue.computeThreadReady(at: 40_000)
    #expect(waitsUntil(queue.decide(at: 40_000, flushing: false)) == 45_000)
    queue.append(job(6, at: 40_100))
    #expect(ids(queue.decide(at: 40_100, flushing: false)) == [4, 5, 6])
  }

  @Test func aFullBatchRunsAtOnceAndStoppingFlushes() {
    var queue = afterABatchOfTwo(maxBatchSize: 2, maxBatchDelay: 1_000_000)
    queue.append(job(1))
    queue.append(job(2, method: "other"))
    #expect(waitsUntil(queue.decide(at: 5, flushing: false)) == 1_000_000)  // one "embed", one "other": neither full
    queue.append(job(3))
    #expect(ids(queue.decide(at: 6, flushing: false)) == [1, 3])
    #expect(ids(queue.decide(at: 7, flushing: true)) == [2])
  }

  @Test func removeTakesOnlyAQueuedJob() {
    var queue = BatchQueue(maxBatchSize: 8, maxBatchDelay: 0)
    queue.append(job(1, link: 0))
    queue.append(job(1, link: 1))
    #expect(queue.remove(link: 1, dispatchID: 1)?.ticket.link == 1)
    #expect(queue.remove(link: 1, dispatchID: 1) == nil)
    #expect(queue.jobs.count == 1)
  }
}

/// The blocking wrapper the compute thread uses, on a clock that never moves: it returns
/// only when the rule says run.
@Suite struct BatcherTests {
  @Test func aWaitingComputeThreadWakesWhenTheBatchFills() async throws {
    let batcher = Batcher(maxBatchSize: 2, maxBatchDelayMicroseconds: 1_000_000, clock: { 0 })
    // A batch of two first, so the lone job below waits for company.
    batcher.submit(job(101))
    batcher.submit(job(102))
    #expect(batcher.nextBatch()?.count == 2)
    batcher.submit(job(1))
    let batch = Task.detached { batcher.nextBatch()?.map(\.ticket.dispatchID) }
    batcher.submit(job(2))
    #expect(await batch.value == [1, 2])
  }

  @Test func stopEndsTheBatchStreamOnceEmpty() {
    let batcher = Batcher(maxBatchSize: 8, maxBatchDelayMicroseconds: 1_000_000, clock: { 0 })
    batcher.submit(job(1))
    batcher.stop()
    #expect(batcher.nextBatch()?.count == 1)
    #expect(batcher.nextBatch() == nil)
  }

  @Test func cancelRemovesAQueuedJob() {
    let batcher = Batcher(maxBatchSize: 8, maxBatchDelayMicroseconds: 0)
    batcher.submit(job(1, link: 0))
    #expect(batcher.cancel(link: 0, dispatchID: 1)?.ticket.dispatchID == 1)
    #expect(batcher.count == 0)
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
    _ = try model.infer([request("sleep", [], metadata: [SleepModel.sleepMetadataKey: eighty])], partials: .discard)
    #expect(ContinuousClock.now - longer >= .milliseconds(80))
  }
}

final class PartialCollector: @unchecked Sendable {
  private let lock = NSLock()
  private var stored: [(Int, InferenceResponse)] = []
  func add(_ index: Int, _ response: InferenceResponse) { lock.withLock { stored.append((index, response)) } }
  var items: [(Int, InferenceResponse)] { lock.withLock { stored } }
}
