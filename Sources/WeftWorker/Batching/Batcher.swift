import Foundation
import WeftModels
import WeftProtocol

/// The queue between the socket thread and the compute thread, forming batches by the
/// rule of ``BatchQueue``: the compute thread blocks in ``nextBatch()`` until the rule
/// says run.
final class Batcher: @unchecked Sendable {
  // @unchecked: every field below is guarded by `condition`.
  private let condition = NSCondition()
  private var queue: BatchQueue
  private var stopping = false
  private let clock: @Sendable () -> UInt64

  /// A batcher; `clock` gives microseconds (the monotonic clock unless a test steps its own).
  init(
    maxBatchSize: Int, maxBatchDelayMicroseconds: UInt64, capacity: Int = .max,
    clock: @escaping @Sendable () -> UInt64 = MonotonicClock.now
  ) {
    queue = BatchQueue(maxBatchSize: maxBatchSize, maxBatchDelay: maxBatchDelayMicroseconds, capacity: capacity)
    self.clock = clock
  }

  /// Most requests per batch.
  var maxBatchSize: Int { queue.maxBatchSize }

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
    return queue.remove(link: link, dispatchID: dispatchID)
  }

  /// Jobs waiting to start.
  var count: Int {
    condition.lock()
    defer { condition.unlock() }
    return queue.jobs.count
  }

  /// Wakes the compute thread to finish: it empties the queue, then `nextBatch` returns nil.
  func stop() {
    condition.lock()
    stopping = true
    condition.broadcast()
    condition.unlock()
  }

  /// Blocks until a batch is ready; nil once stopped and empty. `readySince`: when the
  /// compute thread handed on the replies of its last batch (0 before the first).
  func nextBatch(readySince: UInt64 = 0) -> [Job]? {
    condition.lock()
    defer { condition.unlock() }
    queue.computeThreadReady(at: readySince)
    while true {
      let now = clock()
      switch queue.decide(at: now, flushing: stopping) {
      case .run(let batch): return batch
      case .idle:
        if stopping { return nil }
        condition.wait()
      case .wait(let until):
        _ = condition.wait(until: Date(timeIntervalSinceNow: Double(until - now) / 1e6))
      }
    }
  }
}
