import Testing
import WeftProtocol

@testable import WeftGateway

@Suite struct RoutingTableTests {
  private func id(_ value: UInt8) -> PeerID {
    [0, 0, 0, 0, value].withUnsafeBytes { PeerID($0)! }
  }

  private func ready(
    _ service: String = "text", version: String = "v1", capacity: UInt32 = 2, methods: [String] = ["embed"], instance: UInt64 = 0
  ) -> WorkerReady {
    var ready = WorkerReady()
    ready.instance = instance
    ready.service = service
    ready.version = version
    ready.capacity = capacity
    ready.name = "w"
    ready.heartbeatIntervalMs = 100
    ready.methods = methods.map { name in
      var method = MethodDescriptor()
      method.name = name
      return method
    }
    return ready
  }

  /// A worker may advertise any capacity; the gateway holds it under the worker queue's
  /// bound, so requests never meet that bound.
  @Test func advertisedCapacityIsCutToTheBound() throws {
    var table = RoutingTable(maxCapacity: 8)
    try table.workerReady(id: id(1), ready: ready(capacity: 100_000), defaultHeartbeat: 1_000_000, at: 0)
    #expect(table.workers[id(1)]?.capacity == 8)
    var unbounded = RoutingTable()
    try unbounded.workerReady(id: id(1), ready: ready(capacity: 100_000), defaultHeartbeat: 1_000_000, at: 0)
    #expect(unbounded.workers[id(1)]?.capacity == 100_000)
  }

  @Test func picksLeastLoadedRelativeToCapacityAndNeverPastIt() throws {
    var table = RoutingTable()
    try table.workerReady(id: id(1), ready: ready(capacity: 1), defaultHeartbeat: 1_000_000, at: 0)
    try table.workerReady(id: id(2), ready: ready(capacity: 3), defaultHeartbeat: 1_000_000, at: 0)
    var picks: [PeerID] = []
    while let pick = table.pickWorker(service: "text") {
      picks.append(pick.id)
      pick.assign(at: 0)
    }
    #expect(picks.count == 4)
    #expect(picks.filter { $0 == id(1) }.count == 1)
    #expect(picks.filter { $0 == id(2) }.count == 3)
    table.release(from: id(2), completed: true)
    #expect(table.pickWorker(service: "text")?.id == id(2))
    #expect(table.workers[id(2)]?.completed == 1)
  }

  /// A worker that reconnects (a new socket, so a new identity) replaces its old entry at
  /// its READY, instead of the gateway holding both until the old one's heartbeats run
  /// out; workers with other instances, or none, are left alone.
  @Test func aReconnectedWorkerReplacesItsEarlierConnection() throws {
    var table = RoutingTable()
    try table.workerReady(id: id(1), ready: ready(instance: 7), defaultHeartbeat: 1_000_000, at: 0)
    try table.workerReady(id: id(2), ready: ready(instance: 8), defaultHeartbeat: 1_000_000, at: 0)
    try table.workerReady(id: id(3), ready: ready(), defaultHeartbeat: 1_000_000, at: 0)
    #expect(try table.workerReady(id: id(4), ready: ready(), defaultHeartbeat: 1_000_000, at: 0) == nil)
    // The same connection registering again is not a reconnection.
    #expect(try table.workerReady(id: id(1), ready: ready(instance: 7), defaultHeartbeat: 1_000_000, at: 0) == nil)
    let earlier = try table.workerReady(id: id(5), ready: ready(instance: 7), defaultHeartbeat: 1_000_000, at: 0)
    #expect(earlier?.id == id(1))
    #expect(Set(table.workers.keys) == [id(2), id(3), id(4), id(5)])
    #expect(table.services["text"]?.workers.map(\.id) == [id(2), id(3), id(4), id(5)])
  }

  @Test func evictsOnlyWorkersSilentForThreeIntervals() throws {
    var table = RoutingTable(liveness: 3)
    try table.workerReady(id: id(1), ready: ready(), defaultHeartbeat: 1_000_000, at: 0)
    try table.workerReady(id: id(2), ready: ready(), defaultHeartbeat: 1_000_000, at: 0)
    table.heard(from: id(2), at: 250_000)
    #expect(table.evictSilentWorkers(at: 300_000).isEmpty)
    let evicted = table.evictSilentWorkers(at: 300_001)
    #expect(evicted.map(\.id) == [id(1)])
    #expect(table.pickWorker(service: "text")?.id == id(2))
    #expect(table.evictSilentWorkers(at: 550_001).map(\.id) == [id(2)])
    #expect(!table.hasLiveWorker(service: "text"))
  }

  @Test func drainingWorkerTakesNoWorkAndLeavesWhenIdle() throws {
    var table = RoutingTable()
    try table.workerReady(id: id(1), ready: ready(), defaultHeartbeat: 1_000_000, at: 0)
    try #require(table.workers[id(1)]).assign(at: 0)
    table.drain(id(1))
    #expect(table.pickWorker(service: "text") == nil)
    #expect(table.removeDrainedWorkers().isEmpty)
    table.release(from: id(1), completed: true)
    #expect(table.removeDrainedWorkers().map(\.id) == [id(1)])
  }

  @Test func versionFilterAndMethodsAreTracked() throws {
    var table = RoutingTable()
    try table.workerReady(id: id(1), ready: ready(version: "v1", methods: ["embed"]), defaultHeartbeat: 1, at: 0)
    try table.workerReady(id: id(2), ready: ready(version: "v2", methods: ["similarity"]), defaultHeartbeat: 1, at: 0)
    #expect(table.pickWorker(service: "text", version: "v2")?.id == id(2))
    #expect(table.hasLiveWorker(service: "text", version: "v3") == false)
    #expect(table.services["text"]?.serves(method: "embed") == true)
    #expect(table.services["text"]?.serves(method: "similarity") == true)
  }

  @Test func refusesBadRegistrations() {
    var table = RoutingTable()
    #expect(throws: RoutingTable.RegistrationError.self) {
      try table.workerReady(id: id(1), ready: ready(capacity: 0), defaultHeartbeat: 1, at: 0)
    }
    #expect(throws: RoutingTable.RegistrationError.self) {
      try table.workerReady(id: id(1), ready: ready(""), defaultHeartbeat: 1, at: 0)
    }
    #expect(throws: RoutingTable.RegistrationError.self) {
      try table.workerReady(id: id(1), ready: ready(methods: []), defaultHeartbeat: 1, at: 0)
    }
    #expect(table.workers.isEmpty)
  }

  @Test func queueCountsLiveEntriesAndCompacts() throws {
    var table = RoutingTable()
    for dispatch in 1...200 as ClosedRange<UInt64> { table.enqueue(dispatch, service: "text", client: id(9), priority: 0) }
    #expect(table.queueDepth(service: "text") == 200)
    for _ in 0..<199 { table.queuedRequestLeft(service: "text") }
    table.compactQueue(service: "text") { $0 == 200 }
    #expect(table.services["text"]?.queue.count == 1)
    table.enqueue(7, service: "text", client: id(9), priority: 0, atFront: true)
    #expect(table.popQueued(service: "text") == 7)
  }

  @Test func peerIDRoundTripsUpToSixteenBytes() {
    let bytes: [UInt8] = Array(1...16)
    let peer = bytes.withUnsafeBytes { PeerID($0) }
    #expect(peer?.bytes == bytes)
    let tooLong = [UInt8](repeating: 1, count: 17).withUnsafeBytes { PeerID($0) }
    #expect(tooLong == nil)
  }
}
