import WeftProtocol
import ZeroMQ

/// A request the gateway holds: waiting in a queue, running on a worker, or abandoned
/// (the client already had its answer, the worker still owes a FINAL).
///
/// A class, pooled by the loop: a finished request's object and frame slots serve the
/// next one, so admitting a request allocates nothing in the steady state. Touched by
/// the loop's thread alone, so its fields skip the runtime's exclusivity checks (they
/// cost more than the routing that reads them).
final class InFlightRequest {
  enum State: Equatable {
    /// Waiting in its service's queue since the given time.
    case queued(since: UInt64)
    /// Sent to a worker at the given time.
    case dispatched(worker: PeerID, at: UInt64)
    /// The client was answered (deadline); the worker's slot is freed by its FINAL.
    case abandoned(worker: PeerID)
  }

  // Declared hot first: the fields every request's admission, dispatch and reply touch
  // come first, so they share the object's first cache lines (Swift lays a class's
  // stored properties out in declaration order).
  /// Frame 0: the client's routing identity. Frame 1: the request header as the client
  /// encoded it. Frames 2…: the body. Kept until the end so a retry can resend them.
  let frames = Frames(capacity: 8)
  @exclusivity(unchecked) private(set) var requestID: UInt64 = 0
  @exclusivity(unchecked) private(set) var receivedAt: UInt64 = 0
  @exclusivity(unchecked) private(set) var deadline: UInt64 = 0
  /// Microseconds spent in the gateway's queue, summed over attempts.
  @exclusivity(unchecked) private(set) var queuedMicroseconds: UInt64 = 0
  /// Where its outcome is recorded: its version's figures, once a version is known.
  @exclusivity(unchecked) var figures: VersionFigures?
  /// The client whose budget this request counts against (nil for shadow copies).
  @exclusivity(unchecked) var client: ClientRecord?
  /// Its service's entry, set when a client's request is admitted (nil for copies the
  /// gateway makes: they look it up by name), so replies need no lookup by name.
  @exclusivity(unchecked) var serviceEntry: ServiceEntry?
  /// For a call that stays open: its window and what waits for its worker.
  @exclusivity(unchecked) private(set) var call: OpenCall?
  /// Times sent to a worker.
  @exclusivity(unchecked) private(set) var attempts = 0
  @exclusivity(unchecked) var state = State.queued(since: 0)
  /// The client asked for the reply to pass through the recommender.
  @exclusivity(unchecked) private(set) var personalize = false
  /// The recommender stage of a personalised request: its client gets the recommender's
  /// body under the model's header, or, if the recommender fails or is late, the model's
  /// reply as it was (`modelReply`).
  @exclusivity(unchecked) private(set) var isPersonalization = false
  /// A copy for a shadow version: its reply is recorded and dropped.
  @exclusivity(unchecked) private(set) var isShadow = false
  @exclusivity(unchecked) private(set) var idempotent = false
  /// A PARTIAL already reached the client: a retry would repeat it.
  @exclusivity(unchecked) var streamed = false
  /// It came in a client's pack: its final reply, if small, goes packed too.
  @exclusivity(unchecked) var repliesPacked = false
  /// The client named the version (a policy may not choose again).
  @exclusivity(unchecked) private(set) var versionPinned = false
  /// Its place within its client's share of a queue: higher goes first.
  @exclusivity(unchecked) private(set) var priority: UInt8 = 0
  @exclusivity(unchecked) private(set) var service = ""
  @exclusivity(unchecked) private(set) var method = ""
  /// The version it must run on: named by the client, or chosen by the service's
  /// policy; empty for any.
  @exclusivity(unchecked) private(set) var version = ""
  @exclusivity(unchecked) private(set) var userID = ""
  /// For a recommender stage: the service whose reply it personalises.
  @exclusivity(unchecked) private(set) var personalizedService = ""
  /// For a recommender stage: the model's reply, [header, body…].
  let modelReply = Frames(capacity: 4)

  /// Drops a finished call's state (and any messages it still held).
  func forgetCall() { call = nil }

  /// Makes the request a call that stays open. It is never sent again to another
  /// worker: its messages went to the first.
  func keepOpen(_ call: OpenCall) {
    self.call = call
    idempotent = false
  }

  /// Fills a fresh or recycled object for a newly admitted request bound to `version`,
  /// recorded in `figures` (its version's, if known yet).
  func start(_ header: RoutingFields, version: String, figures: VersionFigures?, deadline: UInt64, at now: UInt64) {
    requestID = header.requestID
    // A pooled object mostly served the same service and method before: storing an equal
    // string again costs four reference-count calls, comparing it none.
    Self.update(&service, to: header.service)
    Self.update(&method, to: header.method)
    personalize = header.personalize
    isPersonalization = false
    Self.update(&self.version, to: version)
    versionPinned = !header.version.isEmpty
    Self.update(&userID, to: header.userID)
    priority = header.priority
    isShadow = false
    self.figures = figures
    idempotent = header.idempotent
    self.deadline = deadline
    receivedAt = now
    state = .queued(since: now)
    attempts = 0
    queuedMicroseconds = 0
    streamed = false
    repliesPacked = false
    call = nil
  }

  @inline(__always) private static func update(_ field: inout String, to value: String) {
    if field != value { field = value }
  }

  /// Fills a fresh or recycled object as the shadow copy of `primary`, bound to
  /// `version`; the caller copies the frames.
  func startShadow(of primary: InFlightRequest, version: String, figures: VersionFigures?, at now: UInt64) {
    requestID = primary.requestID
    service = primary.service
    method = primary.method
    personalize = false
    isPersonalization = false
    self.version = version
    versionPinned = true
    userID = primary.userID
    isShadow = true
    repliesPacked = false
    self.figures = figures
    idempotent = false
    deadline = primary.deadline
    receivedAt = now
    state = .queued(since: now)
    attempts = 0
    queuedMicroseconds = 0
    streamed = false
    call = nil
  }

  /// Fills a fresh or recycled object as the recommender stage of `model`, whose reply
  /// the caller put in `modelReply`; the stage's time counts from the model request's
  /// arrival, so the client's timings cover both.
  func startPersonalization(of model: InFlightRequest, _ header: RoutingFields, version: String, deadline: UInt64, at now: UInt64) {
    start(header, version: version, figures: nil, deadline: deadline, at: now)
    isPersonalization = true
    personalizedService = model.service
    priority = model.priority
    receivedAt = model.receivedAt
    queuedMicroseconds = model.queuedMicroseconds
  }

  /// Binds a request the policy placed to another version (its own lost its workers).
  func reroute(to version: String, figures: VersionFigures?) {
    self.version = version
    self.figures = figures
  }

  /// Records a send to `worker`, adding the time spent queued.
  func markDispatched(to worker: PeerID, at now: UInt64) {
    if case .queued(let since) = state { queuedMicroseconds += now &- since }
    attempts += 1
    state = .dispatched(worker: worker, at: now)
  }

  /// Undoes ``markDispatched(to:at:)`` for a send the worker's connection refused.
  func returnToQueue(at now: UInt64) {
    attempts -= 1
    state = .queued(since: now)
  }

  /// The budget key of the client it answers: its record's, or (for copies the gateway
  /// makes, which count against no client) its identity frame's.
  var clientKey: PeerID { client?.id ?? PeerID(budgetKeyOf: frames[0]) }

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
  /// Replies that could not be delivered: the client was gone, or (refusals only) it
  /// already had `maxInFlightPerClient` refusals waiting unread.
  var undeliverable: UInt64 = 0
  /// Replies the gateway kept because the client's queue was full.
  var repliesHeld: UInt64 = 0
  var workerMessagesDropped: UInt64 = 0
  var clientBudgetRefusals: UInt64 = 0
  /// Requests their clients cancelled before the reply.
  var cancelledByClients: UInt64 = 0
  /// Packed client messages that parsed, and the requests read from them.
  var clientPacks: UInt64 = 0
  var packedRequests: UInt64 = 0
}
