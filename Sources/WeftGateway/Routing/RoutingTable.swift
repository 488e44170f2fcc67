import DequeModule
import WeftProtocol

/// Services, their workers, and which worker gets the next request.
///
/// Fed events and `now` (microseconds), with no sockets: the gateway loop owns one, and
/// tests step the clock instead of waiting. Its entries are references (so the hot path
/// does not copy them); a copy of the table shares them.
struct RoutingTable {
  /// Silent heartbeat intervals after which a worker is dead.
  let liveness: UInt64
  private(set) var workers: [PeerID: WorkerEntry] = [:]
  private(set) var services: [String: ServiceEntry] = [:]

  /// Most requests one worker may hold, whatever it advertises: kept under the worker
  /// connection's queue bound, so a request is never dropped there.
  let maxCapacity: Int

  init(liveness: Int = 3, maxCapacity: Int = .max) {
    self.liveness = UInt64(liveness)
    self.maxCapacity = max(1, maxCapacity)
  }

  /// Why a READY was refused.
  enum RegistrationError: Error, Equatable {
    case invalid(String)
  }

  /// The limit the gateway applies for a worker that offers `capacity` (READY or CREDIT).
  func cappedCapacity(_ capacity: UInt32) -> Int { min(Int(capacity), maxCapacity) }

  /// Registers (or re-registers) a worker from its READY message.
  /// Returns the entry of the same worker's earlier connection (same instance, another
  /// identity), removed: the worker closed that socket, so what it holds there is lost.
  @discardableResult
  mutating func workerReady(id: PeerID, ready: WorkerReady, defaultHeartbeat: UInt64, at now: UInt64)
    throws(RegistrationError) -> WorkerEntry?
  {
    guard !ready.service.isEmpty else { throw .invalid("READY names no service") }
    guard ready.capacity > 0 else { throw .invalid("READY advertises capacity 0") }
    guard !ready.methods.isEmpty else { throw .invalid("READY advertises no methods") }
    if let old = workers[id], old.service != ready.service { removeWorker(id) }
    // READY is rare: a scan of the workers costs nothing next to waiting for the old
    // connection's heartbeats to run out.
    let earlier = ready.instance == 0 ? nil : workers.values.first { $0.instance == ready.instance && $0.id != id }
    if let earlier { removeWorker(earlier.id) }
    let interval = ready.heartbeatIntervalMs > 0 ? UInt64(ready.heartbeatIntervalMs) * 1_000 : defaultHeartbeat
    let isNew = workers[id] == nil
    let entry = workers[id] ?? WorkerEntry(
      id: id, service: ready.service, version: ready.version, capacity: cappedCapacity(ready.capacity),
      name: ready.name, heartbeatInterval: interval, at: now)
    entry.version = ready.version
    entry.capacity = cappedCapacity(ready.capacity)
    entry.name = ready.name
    entry.instance = ready.instance
    entry.inlineHeaders = ready.inlineHeaders
    entry.readsPacked = ready.readsPacked
    entry.heartbeatInterval = interval
    entry.lastSeen = now
    entry.draining = false
    workers[id] = entry
    let service = services[ready.service] ?? ServiceEntry(name: ready.service)
    services[ready.service] = service
    service.merge(methods: ready.methods)
    entry.figures = service.figures(for: ready.version)
    if isNew { service.workers.append(entry) }
    refreshLiveness(of: ready.service)
    return earlier
  }

  /// Tells the service's router which of its versions have live workers; called when a
  /// worker arrives, drains or goes.
  func refreshLiveness(of service: String) {
    guard let router = services[service]?.router else { return }
    router.updateLiveness { hasLiveWorker(service: service, version: $0) }
  }

  /// Notes traffic from a worker; returns its entry, nil if it is not registered.
  @discardableResult
  mutating func heard(from id: PeerID, at now: UInt64) -> WorkerEntry? {
    guard let worker = workers[id] else { return nil }
    worker.lastSeen = now
    return worker
  }

  /// Notes traffic sent to a worker, so heartbeats are sent only to idle links.
  mutating func sent(to id: PeerID, at now: UInt64) {
    workers[id]?.lastSent = now
  }

  // What concerns one entry already at hand is that entry's method
  // (``ServiceEntry/pickWorker(version:)``, ``WorkerEntry/assign(at:)``…), not the
  // table's: a call on the table, a struct held by the gateway's loop object, copies its
  // dictionaries in and out (eight reference-count calls each).

  /// The least-loaded worker of `service` with room, relative to capacity, optionally
  /// of one `version`; nil if all are full or draining.
  func pickWorker(service: String, version: String = "") -> WorkerEntry? {
    services[service].flatMap { $0.pickWorker(version: version) }
  }

  /// Whether any live, non-draining worker serves `service` (and `version`, if given).
  func hasLiveWorker(service: String, version: String = "") -> Bool {
    services[service]?.hasLiveWorker(version: version) ?? false
  }

  /// Records a FINAL from worker `id`; `completed` counts only replies that reached a client.
  mutating func release(from id: PeerID, completed: Bool) {
    workers[id]?.release(completed: completed)
  }

  /// Marks a worker as draining (it sent DISCONNECT).
  mutating func drain(_ id: PeerID) {
    guard let worker = workers[id] else { return }
    worker.draining = true
    refreshLiveness(of: worker.service)
  }

  /// Removes a worker; returns its entry if it was registered.
  @discardableResult
  mutating func removeWorker(_ id: PeerID) -> WorkerEntry? {
    guard let entry = workers.removeValue(forKey: id) else { return nil }
    services[entry.service]?.workers.removeAll { $0 === entry }
    refreshLiveness(of: entry.service)
    return entry
  }

  /// Removes and returns the workers silent for `liveness` heartbeat intervals.
  mutating func evictSilentWorkers(at now: UInt64) -> [WorkerEntry] {
    let dead = workers.values.filter { now > $0.expiry(liveness: liveness) }
    for worker in dead { removeWorker(worker.id) }
    return dead
  }

  /// Removes and returns draining workers with nothing left in flight.
  mutating func removeDrainedWorkers() -> [WorkerEntry] {
    let done = workers.values.filter { $0.draining && $0.outstanding == 0 }
    for worker in done { removeWorker(worker.id) }
    return done
  }

  /// Workers the gateway has sent nothing to for a heartbeat interval.
  func workersDueHeartbeat(at now: UInt64) -> [PeerID] {
    workers.values.filter { now >= $0.lastSent &+ $0.heartbeatInterval }.map(\.id)
  }

  /// The next time housekeeping has anything to do (an expiry or a heartbeat).
  func nextHousekeeping(after now: UInt64) -> UInt64 {
    var next = now &+ 1_000_000
    for worker in workers.values {
      next = min(next, worker.lastSent &+ worker.heartbeatInterval, worker.expiry(liveness: liveness) &+ 1)
    }
    return next
  }

  // MARK: Policies

  /// The service's entry, made if it has none yet (a policy may come before its workers).
  mutating func entry(for service: String) -> ServiceEntry {
    if let entry = services[service] { return entry }
    let entry = ServiceEntry(name: service)
    services[service] = entry
    return entry
  }

  // MARK: Queues

  /// Adds a waiting request of `client` to `service`'s queue for `version` ("" for any
  /// version), in `client`'s share at `priority`; at the front for a retried one.
  mutating func enqueue(
    _ dispatchID: UInt64, service: String, version: String = "", client: PeerID, priority: UInt8, atFront: Bool = false
  ) {
    let entry = entry(for: service)
    func add(to queue: inout FairQueue) {
      if atFront {
        queue.prepend(dispatchID, client: client, priority: priority)
      } else {
        queue.append(dispatchID, client: client, priority: priority)
      }
    }
    if version.isEmpty { add(to: &entry.queue) } else { add(to: &entry.versionQueues[version, default: FairQueue()]) }
    entry.queuedCount += 1
  }

  /// How many live requests wait in `service`'s queues.
  func queueDepth(service: String) -> Int { services[service]?.queuedCount ?? 0 }

  /// Takes the oldest queued id of `service` for `version` ("" for any); the caller
  /// checks it is still live.
  mutating func popQueued(service: String, version: String = "") -> UInt64? {
    guard let entry = services[service] else { return nil }
    if version.isEmpty { return entry.queue.popFirst() }
    let id = entry.versionQueues[version]?.popFirst()
    if entry.versionQueues[version]?.isEmpty == true { entry.versionQueues[version] = nil }
    return id
  }

  /// Notes that a queued request left the queue (dispatched or expired).
  mutating func queuedRequestLeft(service: String) {
    if let entry = services[service], entry.queuedCount > 0 { entry.queuedCount -= 1 }
  }

  /// Drops ids of expired requests when they outnumber live ones, so the deques stay bounded.
  mutating func compactQueue(service: String, isLive: (UInt64) -> Bool) {
    guard let entry = services[service] else { return }
    let stored = entry.versionQueues.values.reduce(entry.queue.count) { $0 + $1.count }
    guard stored > 2 * entry.queuedCount + 64 else { return }
    entry.queue.removeAll { !isLive($0) }
    for version in Array(entry.versionQueues.keys) {
      entry.versionQueues[version]!.removeAll { !isLive($0) }
      if entry.versionQueues[version]!.isEmpty { entry.versionQueues[version] = nil }
    }
  }
}
