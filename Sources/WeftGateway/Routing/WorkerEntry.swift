import WeftProtocol

/// A registered worker as the gateway sees it. A class so the routing table hands out
/// references on the hot path instead of copying its strings. Owned by the gateway's
/// loop thread alone, so its fields skip the runtime's exclusivity checks.
final class WorkerEntry {
  /// Its routing identity on the backend socket.
  let id: PeerID
  /// The service it serves.
  @exclusivity(unchecked) var service: String
  /// The model version it hosts.
  @exclusivity(unchecked) var version: String
  /// Most requests it accepts at once.
  @exclusivity(unchecked) var capacity: Int
  /// The name of the CURVE key it connected with; empty with CURVE off.
  @exclusivity(unchecked) var keyName = ""
  /// Requests sent to it whose FINAL has not come back (expired ones included).
  @exclusivity(unchecked) var outstanding = 0
  /// Requests it has finished.
  @exclusivity(unchecked) var completed: UInt64 = 0
  /// Its process's random instance (READY), 0 if it sent none: a new connection with the
  /// same instance is the same worker reconnected.
  @exclusivity(unchecked) var instance: UInt64 = 0
  /// It reads REQUESTs with the header in the envelope's frame (READY's `inline_headers`).
  @exclusivity(unchecked) var inlineHeaders = false
  /// It reads PACKED messages (READY's `reads_packed`): bursts of small REQUESTs go to it packed.
  @exclusivity(unchecked) var readsPacked = false
  /// Its own name, e.g. host:pid.
  @exclusivity(unchecked) var name: String
  /// Microseconds between heartbeats.
  @exclusivity(unchecked) var heartbeatInterval: UInt64
  /// When it was last heard from (any message counts).
  @exclusivity(unchecked) var lastSeen: UInt64
  /// When the gateway last sent it anything.
  @exclusivity(unchecked) var lastSent: UInt64
  /// Its version's figures, so a reply is recorded without a lookup.
  @exclusivity(unchecked) var figures: VersionFigures?

  init(id: PeerID, service: String, version: String, capacity: Int, name: String, heartbeatInterval: UInt64, at now: UInt64) {
    self.id = id
    self.service = service
    self.version = version
    self.capacity = capacity
    self.name = name
    self.heartbeatInterval = heartbeatInterval
    lastSeen = now
    lastSent = now
  }
  /// It said DISCONNECT: no new work, remove once `outstanding` is 0.
  @exclusivity(unchecked) var draining = false

  /// When it is considered dead if still silent.
  func expiry(liveness: UInt64) -> UInt64 { lastSeen &+ liveness &* heartbeatInterval }

  /// Whether it can take one more request.
  var hasRoom: Bool { !draining && outstanding < capacity }

  /// Records a request sent to it.
  func assign(at now: UInt64) {
    outstanding += 1
    lastSent = now
  }

  /// Records a FINAL from it; `completed` counts only replies that reached a client.
  func release(completed: Bool) {
    outstanding = max(0, outstanding - 1)
    if completed { self.completed += 1 }
  }

  /// Load relative to capacity, compared without division: a/b < c/d ⇔ a·d < c·b.
  func isLessLoaded(than other: WorkerEntry) -> Bool {
    outstanding * other.capacity < other.outstanding * capacity
  }
}
