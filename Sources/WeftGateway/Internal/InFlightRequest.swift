import WeftProtocol
import ZeroMQ

/// A request the gateway holds: waiting in a queue, running on a worker, or abandoned
/// (the client already had its answer, the worker still owes a FINAL).
///
/// A class, pooled by the loop: a finished request's object and frame slots serve the
/// next one, so admitting a request allocates nothing in the steady state.
final class InFlightRequest {
  enum State: Equatable {
    /// Waiting in its service's queue since the given time.
    case queued(since: UInt64)
    /// Sent to a worker at the given time.
    case dispatched(worker: PeerID, at: UInt64)
    /// The client was answered (deadline); the worker's slot is freed by its FINAL.
    case abandoned(worker: PeerID)
  }

  /// Frame 0: the client's routing identity. Frame 1: the request header as the client
  /// encoded it. Frames 2…: the body. Kept until the end so a retry can resend them.
  let frames = Frames(capacity: 8)
  private(set) var requestID: UInt64 = 0
  private(set) var service = ""
  private(set) var version = ""
  private(set) var deadline: UInt64 = 0
  private(set) var receivedAt: UInt64 = 0
  private(set) var idempotent = false
  @exclusivity(unchecked) var state = State.queued(since: 0)
  /// Times sent to a worker.
  private(set) var attempts = 0
  /// Microseconds spent in the gateway's queue, summed over attempts.
  private(set) var queuedMicroseconds: UInt64 = 0
  /// A PARTIAL already reached the client: a retry would repeat it.
  var streamed = false

  /// Fills a fresh or recycled object for a newly admitted request.
  func start(_ header: RoutingFields, deadline: UInt64, at now: UInt64) {
    requestID = header.requestID
    service = header.service
    version = header.version
    idempotent = header.idempotent
    self.deadline = deadline
    receivedAt = now
    state = .queued(since: now)
    attempts = 0
    queuedMicroseconds = 0
    streamed = false
  }

  /// Records a send to `worker`, adding the time spent queued.
  func markDispatched(to worker: PeerID, at now: UInt64) {
    if case .queued(let since) = state { queuedMicroseconds += now &- since }
    attempts += 1
    state = .dispatched(worker: worker, at: now)
  }

  /// The worker that holds the request, if any.
  var worker: PeerID? {
    switch state {
    case .queued: nil
    case .dispatched(let worker, _), .abandoned(let worker): worker
    }
  }

  /// Whether the client is still waiting for this request.
  var isActive: Bool {
    if case .abandoned = state { return false }
    return true
  }
}

/// Counters the gateway keeps for `weft status`.
struct GatewayStatistics {
  /// Replies sent to clients, indexed by status code.
  var replies = [UInt64](repeating: 0, count: 17)
  var redispatched: UInt64 = 0
  var workersEvicted: UInt64 = 0
  /// Replies that could not be delivered (client gone or not reading).
  var undeliverable: UInt64 = 0
  var malformedWorkerMessages: UInt64 = 0
}
