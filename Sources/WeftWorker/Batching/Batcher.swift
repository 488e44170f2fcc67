import DequeModule
import Foundation
import WeftModels
import WeftProtocol

/// The queue between the socket thread and the compute thread, forming batches.
///
/// A batch holds requests of one method, up to `maxBatchSize` of them; the compute
/// thread waits at most `maxBatchDelay` after the oldest request arrived for more to
/// join. Requests of other methods wait for a later batch, in arrival order.
final class Batcher: @unchecked Sendable {
  // @unchecked: every field below is guarded by `condition`.
  private let condition = NSCondition()
  private var queue: Deque<Job> = []
  private var stopping = false
  let maxBatchSize: Int
  let maxBatchDelay: UInt64

  init(maxBatchSize: Int, maxBatchDelayMicroseconds: UInt64) {
    self.maxBatchSize = max(1, maxBatchSize)
    maxBatchDelay = maxBatchDelayMicroseconds
  }

  /// Queues a job and wakes the compute thread.
  func submit(_ job: Job) {
    condition.lock()
    queue.append(job)
    condition.signal()
    condition.unlock()
  }

  /// Removes a job that has not started; returns it, or nil if it is running or done.
  func cancel(link: Int, dispatchID: UInt64) -> Job? {
    condition.lock()
    defer { condition.unlock() }
    guard let index = queue.firstIndex(where: { $0.link == link && $0.dispatchID == dispatchID }) else { return nil }
    return queue.remove(at: index)
  }

  /// Jobs waiting to start.
  var count: Int {
    condition.lock()
    defer { condition.unlock() }
    return queue.count
  }

  /// Wakes the compute thread to finish: it empties the queue, then `nextBatch` returns nil.
  func stop() {
    condition.lock()
    stopping = true
    condition.broadcast()
    condition.unlock()
  }

  /// Blocks until a batch is ready; nil once stopped and empty.
  func nextBatch() -> [Job]? {
    condition.lock()
    defer { condition.unlock() }
    while queue.isEmpty && !stopping { condition.wait() }
    guard let first = queue.first else { return nil }
    let method = first.request.method
    let batchDeadline = first.receivedAt &+ maxBatchDelay
    while !stopping && countOf(method) < maxBatchSize {
      let now = MonotonicClock.now()
      guard now < batchDeadline else { break }
      _ = condition.wait(until: Date(timeIntervalSinceNow: Double(batchDeadline - now) / 1e6))
    }
    var batch: [Job] = []
    var kept: Deque<Job> = []
    while let job = queue.popFirst() {
      if batch.count < maxBatchSize && job.request.method == method { batch.append(job) } else { kept.append(job) }
    }
    queue = kept
    return batch
  }

  private func countOf(_ method: String) -> Int {
    var count = 0
    for job in queue where job.request.method == method { count += 1 }
    return count
  }
}
