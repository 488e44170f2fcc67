import DequeModule
import WeftModels
import WeftProtocol

/// The batching rule, as a plain value fed jobs and the time: a batch holds requests of
/// one method, up to `maxBatchSize`, and waits at most `maxBatchDelay` for more to join,
/// counted from its oldest request's arrival or, for requests that queued while the last
/// batch ran, from when the compute thread came back for the next one. Requests of other
/// methods wait for a later batch, in arrival order.
///
/// Requests that queued during a batch are past their delay when it ends, but the slots
/// that batch frees are being refilled by the gateways a moment later: running what has
/// queued at once would leave the refills out, and on a worker whose capacity is its batch
/// size the two groups would then take turns for good (batches of 3 and 1 on a worker of
/// capacity 4, or of 1 and 1 on one of capacity 2, each waiting out the other's run: half
/// the throughput; `SchedulingTests`). With `capacity` requests queued none more can come,
/// and the batch runs.
///
/// A lone request that came while the compute thread was idle, after a batch of one (or
/// before any), runs at once: calls are then coming one at a time, and waiting for
/// companions would only add the delay to each (a text embedding through the mesh: 10.9
/// against 2.6 ms p50); once two run together, batches wait again. ``Batcher`` runs it
/// under a lock with the real clock; tests step the clock themselves.
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
  /// Most requests the worker holds at once (what its gateways may send it).
  let capacity: Int
  private(set) var jobs: Deque<Job> = []
  /// Requests in the batch run last (0 before the first).
  private(set) var lastBatchSize = 0
  /// When the compute thread handed on its last batch's replies (``computeThreadReady(at:)``).
  private(set) var readySince: UInt64 = 0

  init(maxBatchSize: Int, maxBatchDelay: UInt64, capacity: Int = .max) {
    self.maxBatchSize = max(1, maxBatchSize)
    self.maxBatchDelay = maxBatchDelay
    self.capacity = max(1, capacity)
  }

  /// The compute thread handed on its last batch's replies at `time` and asks for the next.
  mutating func computeThreadReady(at time: UInt64) { readySince = time }

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
    let due = max(first.ticket.receivedAt, readySince) &+ maxBatchDelay
    // One that queued while the last batch ran is not a call coming alone: it is the other
    // half of a capacity the batch split.
    let alone = jobs.count == 1 && lastBatchSize <= 1 && first.ticket.receivedAt >= readySince
    let noMoreCanCome = jobs.count >= capacity
    if !full && !flushing && !alone && !noMoreCanCome && now < due { return .wait(until: due) }
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
