import Foundation
import Logging
import WeftProtocol
import ZeroMQ

/// The gateway's single thread: owns both sockets and all routing state, so nothing on
/// the hot path takes a lock.
///
/// Each turn polls, drains the backend then the frontend without blocking (a poll per
/// message would cost a system call each), then does timed work: deadlines, evictions,
/// heartbeats.
///
/// Its state is touched by this one thread only, so the runtime's exclusivity checks
/// on it are switched off (`@exclusivity(unchecked)`): they cost more than the routing.
final class GatewayLoop {
  let configuration: GatewayConfiguration
  let logger: Logger
  let control: GatewayControl
  let frontend: Socket
  let backend: Socket
  /// The ZAP handler's socket, with CURVE on.
  let zap: Socket?
  /// Who may connect, with CURVE on.
  @exclusivity(unchecked) var keyRing: KeyRing?
  let endpoints: Gateway.Endpoints

  @exclusivity(unchecked) var routing: RoutingTable
  @exclusivity(unchecked) var deadlines = DeadlineQueue()
  @exclusivity(unchecked) var inFlight = InFlightTable()
  @exclusivity(unchecked) var statistics = GatewayStatistics()
  @exclusivity(unchecked) var malformed = MalformedInputLog()
  @exclusivity(unchecked) var personalizations = PersonalizationCounters()
  /// Versions of recent policy-routed or personalised replies, by their reward token.
  @exclusivity(unchecked) var rewardTokens = RewardTokens(capacity: GatewayLoop.rewardTokenCapacity)
  /// Replies whose reward token is remembered: about 2.5 MB.
  static let rewardTokenCapacity = 65_536
  /// Clients with requests in flight (the one that counts a request is its `client`).
  @exclusivity(unchecked) var clients: [PeerID: ClientRecord] = [:]
  /// The record of the client whose request was admitted last (while it has requests
  /// in flight): a burst from one client skips the hashing.
  @exclusivity(unchecked) var lastClient: ClientRecord?
  /// The service of the request routed last: a run of requests to one service skips the hashing.
  @exclusivity(unchecked) var lastService: ServiceEntry?
  /// Calls that stay open now (keep-alives are sent only when there are some).
  @exclusivity(unchecked) var openCallCount = 0
  /// Replies kept for clients whose queue was full, per client.
  @exclusivity(unchecked) var backlogs: [PeerID: ReplyBacklog] = [:]
  /// Draws for version splits without a user id, shadow shares and Thompson samples.
  @exclusivity(unchecked) var random: SplitMix64
  let startedAt = MonotonicClock.now()

  /// The receive buffer, reused for every message.
  let received = Frames(capacity: 16)
  /// Messages to clients and to workers, sent together (``flushOutboxes()``).
  let toClients = Outbox<ClientDelivery>()
  let toWorkers = Outbox<WorkerDelivery>()
  /// Small REQUESTs packed per worker since the last flush (``packToWorker``).
  @exclusivity(unchecked) var workerPacks: [WorkerPack] = []
  /// How many requests were packed since the last flush.
  @exclusivity(unchecked) var packedSinceFlush = 0
  /// Emptied packs whose storage the next packs reuse.
  @exclusivity(unchecked) var sparePacks: [FramePack] = []
  /// A PACKED message being read: [worker identity, envelope, pack].
  let packRead = Frames(capacity: 3)
  /// A packed client message being read: [client identity, signature, pack].
  let clientPack = Frames(capacity: 3)
  /// Whether `received` holds a request taken from `clientPack`, whose frames carry the
  /// connection's properties (``sender()``).
  @exclusivity(unchecked) var readingClientPack = false
  /// Final replies packed per client since the last flush (``packReplyToClient(_:bodyFrames:)``).
  @exclusivity(unchecked) var clientPacks: [ClientPack] = []
  /// How many replies were packed since the last flush.
  @exclusivity(unchecked) var repliesPackedSinceFlush = 0
  /// Emptied client packs the next ones reuse.
  @exclusivity(unchecked) var spareClientPacks: [ClientPack] = []
  /// Where the worker reply being handled lies.
  @exclusivity(unchecked) var replySource = WorkerReplySource.received
  /// Service, method and version names seen, reused when headers are read.
  let names = NameTable()
  /// Scratch space for patched response headers, reused.
  @exclusivity(unchecked) var headerScratch: [UInt8] = []
  /// Finished requests, reused for new ones.
  @exclusivity(unchecked) var requestPool: [InFlightRequest] = []

  @exclusivity(unchecked) var draining = false
  @exclusivity(unchecked) var drainDeadline: UInt64 = .max
  /// When a draining gateway had nothing left in flight.
  @exclusivity(unchecked) var drainQuietSince: UInt64?
  /// Microseconds a drained gateway keeps its sockets open after its last request ends.
  /// libzmq's linger waits until replies are written to the kernel, not until they are
  /// sent; closing a TCP socket that holds unread input (a client's heartbeat that came
  /// during the close) resets the connection and discards what the kernel had not sent
  /// yet. A fresh-clone run lost an open call's final so (the drain test, 3 times in 15
  /// with both cores busy; none in 15 with this wait).
  static let drainQuietPeriod: UInt64 = 200_000
  @exclusivity(unchecked) var nextHousekeeping: UInt64 = 0
  /// Whether the socket's last drain found one message (see ``drainBackend()``).
  @exclusivity(unchecked) var backendDrainsAreSingle = false
  @exclusivity(unchecked) var frontendDrainsAreSingle = false
  /// Whether the next wait polls before it sleeps.
  @exclusivity(unchecked) var busyPolling: BusyPolling
  /// How the I/O thread is scheduled for the load.
  @exclusivity(unchecked) var ioThreadLoad: IOThreadLoadSwitch

  /// The configuration's request timeouts in microseconds, converted once.
  let timeouts: (default: UInt64, max: UInt64)

  /// Messages taken from one socket per wake-up before looking at the other.
  let drainBatch = 512
  /// Frames accepted in one message; more is malformed.
  let maxFrames = 64

  init(
    configuration: GatewayConfiguration, context: Context, control: GatewayControl, inProcessEndpoint: String? = nil,
    logger: Logger
  ) throws {
    self.configuration = configuration
    self.logger = logger
    self.control = control
    routing = RoutingTable(liveness: configuration.heartbeatLiveness, maxCapacity: configuration.maxWorkerCapacity)
    random = SplitMix64(seed: UInt64.random(in: .min ... .max))
    timeouts = (configuration.defaultTimeout.microseconds, configuration.maxTimeout.microseconds)
    // With one CPU, the thread polling would hold the CPU the awaited message needs to
    // come through (not measured there): it sleeps.
    busyPolling = BusyPolling(window: ProcessInfo.processInfo.activeProcessorCount > 1 ? configuration.busyPoll : .zero)
    ioThreadLoad = IOThreadLoadSwitch(context: context)

    if let security = configuration.security {
      // Bound before either port, or libzmq lets every CURVE peer in unchecked.
      let ring = try KeyRing(directories: security.directories)
      let zap = try Socket(context: context, type: .rep)
      try zap.bind(ZapHandler.endpoint)
      (self.zap, keyRing) = (zap, ring)
    } else {
      (zap, keyRing) = (nil, nil)
    }

    frontend = try Socket(context: context, type: .router)
    if let security = configuration.security { try frontend.makeCurveServer(secretKey: security.secretKey, zapDomain: ZapHandler.clientDomain) }
    try frontend.setRouterMandatory(true)
    // Bounded per client: past the bound, replies wait in the gateway's backlog (counted
    // against the client's reply budget); the gateway never blocks.
    try frontend.setSendHighWaterMark(configuration.clientHighWaterMark)
    try frontend.setReceiveHighWaterMark(configuration.clientHighWaterMark)
    try frontend.setMaxMessageSize(configuration.maxRequestBytes * 2 + 65_536)
    try frontend.bind(configuration.frontend)
    let boundFrontend = try frontend.lastEndpoint()
    if let inProcessEndpoint { try frontend.bind(inProcessEndpoint) }

    backend = try Socket(context: context, type: .router)
    if let security = configuration.security { try backend.makeCurveServer(secretKey: security.secretKey, zapDomain: ZapHandler.workerDomain) }
    try backend.setRouterMandatory(true)
    // Bounded per worker: capacity is kept under the bound, so a request never meets it;
    // commands to a peer that does not read are dropped there (counted). A worker sending
    // faster than the gateway reads is held back by its own queue.
    try backend.setSendHighWaterMark(configuration.workerHighWaterMark)
    try backend.setReceiveHighWaterMark(configuration.workerHighWaterMark)
    try backend.bind(configuration.backend)

    endpoints = Gateway.Endpoints(frontend: boundFrontend, backend: try backend.lastEndpoint())
  }

  func run() throws {
    var poller = Poller()
    let backendIndex = try poller.add(backend)
    let frontendIndex = try poller.add(frontend)
    let controlIndex = poller.add(fileDescriptor: control.wake.fileDescriptor)
    let zapIndex = try zap.map { try poller.add($0) }
    let zapRequest = Frames(capacity: 8)
    logger.info("gateway listening", metadata: ["frontend": "\(endpoints.frontend)", "backend": "\(endpoints.backend)"])
    if configuration.security == nil {
      for (port, endpoint) in [("client", endpoints.frontend), ("worker", endpoints.backend)] where !Self.isLocal(endpoint) {
        logger.warning(
          "the \(port) port is open to the network without CURVE: anyone who reaches it can use it; see docs/SECURITY.md",
          metadata: ["endpoint": "\(endpoint)"])
      }
    }
    replaceRoutes(configuration.routes, at: MonotonicClock.now())

    while true {
      var now = MonotonicClock.now()
      if control.isStopRequested && !draining { beginDrain(at: now) }
      if draining && (activeRequestCount() == 0 || now >= drainDeadline) {
        // Once idle, stay open a moment so clients read the last replies (see drainQuietPeriod).
        let quietSince = drainQuietSince ?? now
        drainQuietSince = quietSince
        if now >= quietSince &+ Self.drainQuietPeriod || now >= drainDeadline { break }
      }

      let spin = busyPolling.spin(lightLoad: inFlight.count <= BusyPolling.lightLoadRequests, at: now)
      try poller.wait(timeoutMilliseconds: pollTimeout(at: now), spinMicroseconds: spin)
      busyPolling.waited(until: MonotonicClock.now())
      if poller.isReadable(backendIndex) { try drainBackend() }
      if poller.isReadable(frontendIndex) { try drainFrontend() }
      if let zapIndex, let zap, let keyRing, poller.isReadable(zapIndex) {
        while try zap.receive(into: zapRequest, wait: false) {
          let reply = ZapHandler.answer(zapRequest, ring: keyRing)
          for (index, frame) in reply.enumerated() { try zap.send(frame, more: index < reply.count - 1) }
        }
      }
      if poller.isReadable(controlIndex) {
        control.wake.drain()
        if let routes = control.takeRoutes() { replaceRoutes(routes, at: MonotonicClock.now()) }
        if control.takeKeyReload() { reloadKeys() }
      }

      if !backlogs.isEmpty { flushBacklogs() }
      now = MonotonicClock.now()
      ioThreadLoad.update(inFlight: inFlight.count, at: now)
      expireDeadlines(at: now)
      if now >= nextHousekeeping { housekeeping(at: now) }
      flushOutboxes()
    }
    finishDrain()
  }

  /// Reads the key directories again; a directory that cannot be read keeps the keys in force.
  private func reloadKeys() {
    guard let security = configuration.security else { return }
    do {
      keyRing = try KeyRing(directories: security.directories)
      logger.info("keys reloaded", metadata: ["keys": "\(keyRing?.count ?? 0)"])
    } catch {
      logger.error("keys not reloaded; keeping the current ones", metadata: ["error": "\(error)"])
    }
  }

  /// The key the connection `received` came on; nil with CURVE off, or when that key is
  /// no longer in the ring (revoked since it connected). A message with no User-Id came
  /// in-process (the ZAP handler names every TCP peer it lets in), from this process's
  /// own HTTP front door: an admin.
  func sender() -> KeyRing.Peer? {
    guard let keyRing else { return nil }
    // A request read from a pack has frames made here: the pack's frames carry the connection's.
    let frames = readingClientPack ? clientPack : received
    guard let user = frames.property("User-Id", at: 1) else { return KeyRing.Peer(role: .admin, name: "in-process") }
    return keyRing.peer(ofUserID: user)
  }

  /// Whether an endpoint is reachable from this machine only: loopback TCP, IPC, in-process.
  static func isLocal(_ endpoint: String) -> Bool {
    guard endpoint.hasPrefix("tcp://") else { return true }
    let address = endpoint.dropFirst(6)
    let host = address.lastIndex(of: ":").map { address[..<$0] } ?? address
    return host.hasPrefix("127.") || host == "localhost" || host == "[::1]"
  }

  private func pollTimeout(at now: UInt64) -> Int {
    var wake = nextHousekeeping
    if let deadline = deadlines.nextDeadline { wake = min(wake, deadline) }
    if draining { wake = min(wake, drainDeadline, drainQuietSince.map { $0 &+ Self.drainQuietPeriod } ?? .max) }
    // A client's queue gives no sign when it has room again: look every millisecond.
    if !backlogs.isEmpty { wake = min(wake, now &+ 1_000) }
    guard wake > now, !outboxesHoldMessages else { return 0 }
    // Round up so a deadline is not polled for repeatedly just before it is due.
    return Int(min((wake - now + 999) / 1_000, 1_000))
  }

  /// Messages handled at one reading of the clock: a burst is handled in a few
  /// microseconds per message, so times stay this close, for fewer clock reads.
  static let messagesPerClockReading = 8

  // When a socket's last drain found a single message (requests come one at a time), the
  // next drain flushes right after its first: finding the socket empty costs libzmq two
  // system calls (poll and getpid) that the lone request would wait for, and libzmq's I/O
  // thread, still awake from delivering it, then sends the answer in the same wake-up.
  // Under load, drains find many messages and keep packing them (flushing every first
  // message cost the echo worker a third more wake-ups per message). docs/BENCHMARKS.md,
  // eleventh session.

  private func drainBackend() throws {
    try drain(backend, lastWasSingle: &backendDrainsAreSingle, handle: handleWorkerMessage(at:)) {
      toClients.count >= Self.outboxFlushCount || repliesPackedSinceFlush >= Self.packedRepliesFlushCount
    }
  }

  private func drainFrontend() throws {
    try drain(frontend, lastWasSingle: &frontendDrainsAreSingle, handle: handleClientMessage(at:)) {
      workerMessagesWaiting >= Self.workerOutboxFlushCount
    }
  }

  /// Reads up to ``drainBatch`` messages from `socket` without waiting, handing each to
  /// `handle`; flushes when `outboxFull` says so, after the first message when the last
  /// drain found one (`lastWasSingle`, updated here), and at the end.
  private func drain(
    _ socket: Socket, lastWasSingle: inout Bool, handle: (UInt64) -> Void, outboxFull: () -> Bool
  ) throws {
    var now: UInt64 = 0
    var count = 0
    while count < drainBatch, try socket.receive(into: received, wait: false, maxFrames: maxFrames) {
      if count % Self.messagesPerClockReading == 0 { now = MonotonicClock.now() }
      handle(now)
      if (count == 0 && lastWasSingle) || outboxFull() { flushOutboxes() }
      count += 1
    }
    if count > 0 { lastWasSingle = count == 1 }
    flushOutboxes()
  }

  /// Evicts silent workers, forgets drained ones and heartbeats idle links.
  func housekeeping(at now: UInt64) {
    for worker in routing.evictSilentWorkers(at: now) {
      workerLost(worker, reason: "silent for \(configuration.heartbeatLiveness) heartbeats", at: now)
    }
    for worker in routing.removeDrainedWorkers() {
      logger.info("worker drained and left", metadata: ["worker": "\(worker.name)", "service": "\(worker.service)"])
    }
    for id in routing.workersDueHeartbeat(at: now) {
      sendToWorker(id, command: .heartbeat, at: now)
    }
    updateRouters(at: now)
    keepCallsAlive(at: now)
    nextHousekeeping = min(routing.nextHousekeeping(after: now), nextRouterUpdate(after: now) ?? .max)
  }

  // MARK: Drain on shutdown

  private func beginDrain(at now: UInt64) {
    draining = true
    drainDeadline = now &+ configuration.drainTimeout.microseconds
    logger.info("gateway draining", metadata: ["in_flight": "\(activeRequestCount())"])
  }

  private func activeRequestCount() -> Int { inFlight.requests.reduce(0) { $0 + ($1.isActive ? 1 : 0) } }

  private func finishDrain() {
    for id in inFlight.ids(where: \.isActive) {
      replyError(to: id, .unavailable, "gateway shut down before the request finished")
    }
    // Replies written just now, and what clients' queues had no room for, must reach
    // clients before the sockets close.
    flushOutboxes()
    if !backlogs.isEmpty { flushBacklogs() }
    frontend.linger = 2_000
    backend.linger = 500
    logger.info("gateway stopped")
  }

  /// Puts request `id` in its service's queue for `version`, in its client's share.
  func enqueue(_ id: UInt64, _ request: InFlightRequest, version: String, atFront: Bool = false) {
    routing.enqueue(
      id, service: request.service, version: version, client: request.client?.id ?? .anonymous, priority: request.priority,
      atFront: atFront)
  }

  // MARK: Request objects

  /// `request`'s service entry: the one it was admitted with, else found by name.
  func serviceEntry(of request: InFlightRequest) -> ServiceEntry? { request.serviceEntry ?? routing.services[request.service] }

  /// A request object from the pool, or a new one.
  func takeRequest() -> InFlightRequest { requestPool.popLast() ?? InFlightRequest() }

  /// Removes a finished request and returns its object to the pool.
  func finish(_ id: UInt64) {
    guard let request = inFlight.remove(id) else { return }
    if let client = request.client {
      client.inFlight -= 1
      if client.inFlight <= 0 {
        clients[client.id] = nil
        if lastClient === client { lastClient = nil }
      } else if let removed = client.calls.removeValue(for: request.requestID), removed != id {
        // A later request that reused the client's id keeps its entry.
        client.calls.set(removed, for: request.requestID)
      }
      request.client = nil
    }
    request.frames.removeAll()
    if !request.modelReply.isEmpty { request.modelReply.removeAll() }
    if request.call != nil { openCallCount -= 1 }
    request.forgetCall()
    request.serviceEntry = nil
    if requestPool.count < 4_096 { requestPool.append(request) }
  }
}
