import DequeModule
import WeftModels
import WeftProtocol

/// The batching rule, as a plain value fed jobs and the time: a batch holds requests of
/// one method, up to `maxBatchSize`, and waits at most `maxBatchDelay` after its oldest
/// request arrived for more to join. Requests of other methods wait for a later batch,
/// in arrival order. A lone request after a batch of one (or before any) runs at once:
/// calls are then coming one at a time, and waiting for companions would only add the
/// delay to each (a text embedding through the mesh: 10.9 against 2.6 ms p50); once two
/// run together, batches wait again. ``Batcher`` runs it under a lock with the real
/// clock; tests step the clock themselves.
struct BatchQueue {
  /// What the compute thread should do now.
  enum Decision {
    /// Run these jobs as one batch.
    case run([Job])
    /// Wait for more jobs until this time (microseconds on the caller's clock), or until
    /// a job arrives.
    case wait(until: UInt64)
    /// Nothing queued: wait for a job.
    case idle
  }

  let maxBatchSize: Int
  /// Microseconds.
  let maxBatchDelay: UInt64
  private(set) var jobs: Deque<Job> = []
  /// Requests in the batch run last (0 before the first).
  private(set) var lastBatchSize = 0

  init(maxBatchSize: Int, maxBatchDelay: UInt64) {
    self.maxBatchSize = max(1, maxBatchSize)
    self.maxBatchDelay = maxBatchDelay
  }

  mutating func append(_ job: Job) { jobs.append(job) }

  /// Removes a job that has not started; returns it, or nil if there is none.
  mutating func remove(link: Int, dispatchID: UInt64) -> Job? {
    guard let index = jobs.firstIndex(where: { $0.ticket.link == link && $0.ticket.dispatchID == dispatchID }) else { return nil }
    return jobs.remove(at: index)
  }

  /// The decision at `now`; with `flushing` set (the worker stops), a batch runs at once.
  mutating func decide(at now: UInt64, flushing: Bool) -> Decision {
    guard let first = jobs.first else { return .idle }
    let method = first.request.method
    let full = jobs.lazy.filter { $0.request.method == method }.prefix(maxBatchSize).count == maxBatchSize
    let due = first.ticket.receivedAt &+ maxBatchDelay
    let alone = jobs.count == 1 && lastBatchSize <= 1
    if !full && !flushing && !alone && now < due { return .wait(until: due) }
    var batch: [Job] = []
    var kept: Deque<Job> = []
    while let job = jobs.popFirst() {
      if batch.count < maxBatchSize && job.request.method == method { batch.append(job) } else { kept.append(job) }
    }
    jobs = kept
    lastBatchSize = batch.count
    return .run(batch)
  }
}
