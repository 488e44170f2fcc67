import Foundation
import Logging
import SwiftProtobuf
import Synchronization
import WeftModels
import WeftProtocol
import ZeroMQ

/// The worker's socket thread: talks to every gateway, feeds the batcher, sends replies.
///
/// Its state is touched by this one thread only, so the runtime's exclusivity checks on
/// it are switched off (`@exclusivity(unchecked)`), as in the gateway's loop: they cost
/// more than an inline model's work.
final class WorkerLoop {
  private let model: any Model
  private let configuration: WorkerConfiguration
  private let control: WorkerControl
  private let logger: Logger
  private let links: [GatewayLink]
  private let batcher: Batcher
  private let completionQueue: CompletionQueue
  private let compute: ComputeThread
  private let ready: WorkerReady
  private let interval: UInt64
  private let received = Frames(capacity: 16)
  /// Frames taken of one message from a gateway, packed or not; the rest are dropped.
  private static let maxFrames = 64
  /// Jobs received and not yet answered with a FINAL.
  @exclusivity(unchecked) private var pendingCount = 0
  /// How the capacity is split among the gateways.
  @exclusivity(unchecked) private var shares: CapacityShares
  @exclusivity(unchecked) private var nextRebalance: UInt64 = 0
  @exclusivity(unchecked) private var drainStartedAt: UInt64?
  /// Calls that stay open, by link and dispatch id, until their FINAL is sent.
  @exclusivity(unchecked) private var streams: [StreamKey: StreamCall] = [:]
  /// The model's client-streaming and bidirectional methods (none or a few: compared
  /// one by one, which costs less than hashing the method name of every request).
  private let openCallMethods: [String]
  /// Steps of open calls run on the compute thread even for a model that runs inline.
  private let usesComputeThread: Bool
  /// Requests for a model that runs inline, received in this read of the sockets: they
  /// run together, one `infer` call for up to `maxBatchSize` of them or
  /// ``inlineBatchBytes`` of bodies, when the read ends.
  @exclusivity(unchecked) private var inlineBatch = InlineBatch()
  /// The model's batch size if it runs inline, else nil; read once, as reading the
  /// descriptor through `any Model` copies it.
  private let inlineBatchSize: Int?
  /// The worker's name and model version, named in every reply.
  private let origin: ReplyOrigin
  /// Where each reply's header is written as it is sent (its storage kept between replies).
  @exclusivity(unchecked) private var headerWriter = ProtobufWriter(capacity: 256)
  /// Bodies an inline batch holds at most: large ones run while their bytes are still in
  /// the core's cache (a batch of 64 echoes of 64 KiB cost more than one at a time).
  static let inlineBatchBytes = 256 * 1_024

  init(model: any Model, configuration: WorkerConfiguration, context: Context, control: WorkerControl, logger: Logger) throws {
    self.model = model
    self.configuration = configuration
    self.control = control
    self.logger = logger
    let now = MonotonicClock.now()
    interval = configuration.heartbeatInterval.microseconds
    links = try configuration.gateways.map {
      try GatewayLink(endpoint: $0, context: context, maxBackoff: configuration.maxReconnectBackoff.microseconds, curve: configuration.curve, now: now)
    }
    let descriptor = model.descriptor
    inlineBatchSize = descriptor.runsInline ? descriptor.maxBatchSize : nil
    origin = ReplyOrigin(workerName: configuration.name, version: descriptor.version)
    let capacity = configuration.capacity ?? 2 * descriptor.maxBatchSize
    batcher = Batcher(
      maxBatchSize: descriptor.maxBatchSize, maxBatchDelayMicroseconds: descriptor.maxBatchDelay.microseconds, capacity: capacity)
    completionQueue = try CompletionQueue()
    compute = ComputeThread(model: model, batcher: batcher, completionQueue: completionQueue, logger: logger)
    openCallMethods = descriptor.methods.filter(\.kind.clientStreams).map(\.name)
    usesComputeThread = !descriptor.runsInline || !openCallMethods.isEmpty

    var ready = WorkerReady()
    ready.service = descriptor.service
    ready.version = descriptor.version
    shares = CapacityShares(capacity: capacity, links: links.count)
    ready.maxBatchSize = UInt32(descriptor.maxBatchSize)
    ready.maxBatchDelayUs = UInt32(clamping: descriptor.maxBatchDelay.microseconds)
    ready.name = configuration.name
    ready.instance = UInt64.random(in: 1...UInt64.max)
    ready.inlineHeaders = true
    ready.readsPacked = true
    ready.heartbeatIntervalMs = UInt32(clamping: interval / 1_000)
    ready.methods = descriptor.methods.map { served in
      var method = MethodDescriptor()
      method.name = served.name
      method.streaming = served.kind.serverStreams
      method.clientStreaming = served.kind.clientStreams
      method.inputKind = Self.kind(of: served.requestType)
      method.outputKind = Self.kind(of: served.responseType)
      return method
    }
    self.ready = ready
  }

  /// What READY says a body holds: the message's full name, or `bytes` for frames passed
  /// as sent.
  private static func kind(of message: any SwiftProtobuf.Message.Type) -> String {
    message == OpaqueFrames.self ? "bytes" : message.protoMessageName
  }

  /// Registers with every gateway, serves until drained, then returns.
  func run(onReady: () -> Void) throws {
    if usesComputeThread { compute.start() }
    defer {
      for call in streams.values { call.cancel(WeftError(.unavailable, "the worker stopped")) }
      batcher.stop()
      if usesComputeThread { compute.join() }
      // The finals of what was cancelled above, and of the last steps.
      sendCompletions(completionQueue.take(), at: MonotonicClock.now())
      // The last FINALs may still sit in libzmq's queue: give them time to be written
      // when the sockets close (linger is 0 otherwise); the runtime then waits for that
      // (Context.terminate) before the process may exit and stop libzmq's I/O thread.
      for link in links {
        flush(link)
        link.socket.linger = 2_000
        link.socket.close()
      }
    }
    let now = MonotonicClock.now()
    for index in links.indices { try register(index, at: now) }
    onReady()

    while true {
      var poller = Poller()
      for link in links { _ = try poller.add(link.socket) }
      let wakeIndex = poller.add(fileDescriptor: completionQueue.wake.fileDescriptor)
      let controlIndex = poller.add(fileDescriptor: control.wake.fileDescriptor)
      var relinked = false
      while !relinked {
        // What this turn queued (replies, READY, heartbeats) goes out before waiting.
        flushLinks()
        try poller.wait(timeoutMilliseconds: Int(max(1, interval / 2_000)))
        let now = MonotonicClock.now()
        for (index, link) in links.enumerated() where poller.isReadable(index) {
          try drain(link, index: index)
        }
        if poller.isReadable(wakeIndex) {
          completionQueue.wake.drain()
          sendCompletions(completionQueue.take(), at: now)
        }
        if poller.isReadable(controlIndex) { control.wake.drain() }
        if control.isDrainRequested && drainStartedAt == nil { try beginDrain(at: now) }
        if isDrained(at: now) { return }
        relinked = try housekeeping(at: now)
      }
    }
  }

  /// Registers with gateway `index` (again): READY with its share of the capacity, or
  /// later, once a share is free.
  private func register(_ index: Int, at now: UInt64) throws {
    links[index].registration &+= 1
    links[index].registeredAt = now
    if let grant = shares.register(index) { try send(grant, at: now) }
  }

  /// Sends a gateway its limit: READY, or CREDIT.
  private func send(_ grant: CapacityShares.Grant, at now: UInt64) throws {
    let link = links[grant.link]
    if grant.isReady {
      var ready = ready
      ready.capacity = UInt32(grant.limit)
      link.send(.ready, frames: [try ready.serializedBytes()], at: now)
    } else {
      link.send(.credit, frames: [CreditLimit.encode(UInt32(grant.limit))], at: now)
    }
  }

  /// Moves the capacity shares toward their goals (`byDemand`: plans them again first).
  private func rebalance(byDemand: Bool, at now: UInt64) throws {
    guard drainStartedAt == nil else { return }
    for grant in shares.rebalance(byDemand: byDemand) { try send(grant, at: now) }
  }

  // MARK: Gateway messages

  /// Sends what every link has queued.
  private func flushLinks() {
    for link in links where link.hasQueued { flush(link) }
  }

  /// Sends what `link` has queued, logging messages that could not be sent.
  private func flush(_ link: GatewayLink) {
    let (failed, error) = link.flush()
    guard failed > 0, let error else { return }
    logger.error("could not send to the gateway", metadata: ["gateway": "\(link.endpoint)", "messages": "\(failed)", "error": "\(error)"])
  }

  private func drain(_ link: GatewayLink, index: Int) throws {
    var count = 0
    defer {
      runInlineBatch()
      if count > 0 { link.drainsAreSingle = count == 1 }
    }
    while count < 512 {
      // Replies of a long batch read go out in groups, not all at its end.
      if link.queuedCount >= 64 { flush(link) }
      guard try link.socket.receive(into: received, wait: false, maxFrames: Self.maxFrames) else { return }
      let now = MonotonicClock.now()
      link.heard(at: now)
      try handleGatewayMessage(from: link, index: index, at: now)
      // Requests coming one at a time: the first one's replies go before asking for more,
      // as the gateway's drains do (GatewayLoop.drain(_:lastWasSingle:handle:outboxFull:)).
      if count == 0 && link.drainsAreSingle && inlineBatchSize != nil {
        runInlineBatch()
        if link.hasQueued { flush(link) }
      }
      count += 1
    }
  }

  /// Handles the message from gateway `index` in `received` = [envelope, …].
  private func handleGatewayMessage(from link: GatewayLink, index: Int, at now: UInt64) throws {
    let envelope: WorkerEnvelope
    do {
      envelope = try WorkerEnvelope(decoding: received[0])
    } catch {
      logger.warning("malformed message from gateway", metadata: ["gateway": "\(link.endpoint)", "error": "\(error)"])
      return
    }
    switch envelope.command {
    case .request: accept(envelope, from: link, index: index, at: now)
    case .cancel: cancel(envelope, from: link, index: index, at: now)
    case .message, .halfClose, .callCredit: continueCall(envelope, index: index, at: now)
    case .credit:
      guard received.count >= 2, let limit = CreditLimit.decode(received[1]) else {
        logger.warning("CREDIT without a 4-byte limit", metadata: ["gateway": "\(link.endpoint)"])
        return
      }
      shares.confirmed(index, limit: Int(limit))
      try rebalance(byDemand: false, at: now)
    case .heartbeat: break
    case .disconnect:
      if drainStartedAt != nil {
        link.drainAcknowledged = true
      } else if received.count >= 2, received.size(at: 1) > 0 {
        // A refused READY: registering again at once would be refused again.
        logger.error(
          "gateway refused the registration", metadata: ["gateway": "\(link.endpoint)", "reason": "\(String(decoding: received[1], as: UTF8.self))"])
      } else if shares.awaitsReadyConfirmation(index) && now < link.registeredAt &+ interval {
        // The answer to something sent before the READY (the link keeps order): the
        // READY, on its way, registers. Registering once more would make the gateway
        // confirm a limit twice, and its second confirmation would read as the answer to
        // a later change (capacity given away twice). After an interval without a
        // confirmation the READY may be lost (the gateway restarted): register then.
      } else {
        // The gateway does not know us (it restarted, or evicted us): register again.
        logger.info("gateway asked to re-register", metadata: ["gateway": "\(link.endpoint)"])
        try register(index, at: now)
      }
    case .packed:
      handlePacked(from: link, index: index, at: now)
    case .ready, .partial, .final:
      logger.warning("gateway sent a worker-only command", metadata: ["command": "\(envelope.command)"])
    }
  }

  /// Takes each REQUEST of the PACKED in `received` = [envelope, pack] as if it came alone,
  /// read in place from the pack; from then on this gateway's replies may go packed too.
  private func handlePacked(from link: GatewayLink, index: Int, at now: UInt64) {
    guard received.count == 2 else {
      logger.warning("PACKED without one pack frame", metadata: ["gateway": "\(link.endpoint)", "frames": "\(received.count)"])
      return
    }
    do {
      _ = try FramePack.validate(received[1], maxFrames: Self.maxFrames)
    } catch {
      logger.warning("malformed PACKED from gateway", metadata: ["gateway": "\(link.endpoint)", "error": "\(error)"])
      return
    }
    link.peerReadsPacked = true
    // One reading for the pack's deadlines: its requests came together.
    let clock = ContinuousClock.now
    FramePack.forEachMessage(in: received[1]) { message in
      var frames = message.makeIterator()
      guard let (envelope, header) = try? WorkerEnvelope.decodeHeaded(from: &frames), envelope.command == .request, let header else {
        // A gateway packs only REQUESTs.
        return logger.warning("gateway packed something other than a REQUEST", metadata: ["gateway": "\(link.endpoint)"])
      }
      var body: [Data] = []
      body.reserveCapacity(message.count - 1)
      while let frame = frames.next() { body.append(Data(frame)) }
      accept(envelope, header: header, body: body, from: link, index: index, at: now, clock: clock)
    }
  }

  /// Takes the REQUEST in `received` = [envelope, header, body…] (the header in the
  /// envelope's frame in version 2).
  private func accept(_ dispatch: WorkerEnvelope, from link: GatewayLink, index: Int, at now: UInt64) {
    let inline = dispatch.hasInlineHeader
    guard inline || received.count >= 2 else {
      logger.warning("REQUEST without a RequestHeader")
      return
    }
    let body = ((inline ? 1 : 2)..<received.count).map { received.data(at: $0) }
    accept(
      dispatch, header: inline ? WorkerEnvelope.inlineHeader(in: received[0]) : received[1], body: body, from: link, index: index,
      at: now, clock: .now)
  }

  /// Takes a REQUEST whose encoded `header` and `body` were read from its frames or from
  /// a pack at `clock` (its deadline counts from there).
  private func accept(
    _ dispatch: WorkerEnvelope, header encodedHeader: UnsafeRawBufferPointer, body: [Data], from link: GatewayLink, index: Int,
    at now: UInt64, clock: ContinuousClock.Instant
  ) {
    func replyTicket(requestID: UInt64) -> ReplyTicket {
      ReplyTicket(
        link: index, generation: link.generation, registration: link.registration, dispatchID: dispatch.dispatchID,
        requestID: requestID, receivedAt: now, inlineHeaders: dispatch.hasInlineHeader)
    }
    let request: InferenceRequest
    do {
      let header = try RequestHeader(borrowing: encodedHeader)
      let deadline = clock + .milliseconds(Int(dispatch.remainingMilliseconds))
      request = InferenceRequest(method: header.method, header: header, body: body, deadline: deadline)
    } catch {
      let refusal = WeftError(.invalidArgument, "worker could not decode the request header: \(error)")
      let completion = Completion(
        ticket: replyTicket(requestID: 0), isFinal: true, header: ReplyHeader(requestID: 0, error: refusal), body: [], fromJob: false)
      return send(completion, at: now)
    }
    pendingCount += 1
    shares.received(index)
    let ticket = replyTicket(requestID: request.header.requestID)
    if !openCallMethods.isEmpty && openCallMethods.contains(request.method) {
      let call = StreamCall(
        opening: Job(ticket, request: request), responseCredit: CallWindow.responses(requested: request.header.credit),
        completionQueue: completionQueue)
      streams[StreamKey(link: index, generation: link.generation, dispatchID: dispatch.dispatchID)] = call
      if call.grant(0) { batcher.submit(.step(of: call, at: now)) }
    } else if let inlineBatchSize {
      inlineBatch.append(consume request, ticket: ticket)
      if inlineBatch.count >= inlineBatchSize || inlineBatch.bodyBytes >= Self.inlineBatchBytes { runInlineBatch() }
    } else {
      batcher.submit(Job(ticket, request: request))
    }
  }

  private func cancel(_ dispatch: WorkerEnvelope, from link: GatewayLink, index: Int, at now: UInt64) {
    if let call = streams[StreamKey(link: index, generation: link.generation, dispatchID: dispatch.dispatchID)] {
      return call.cancel(WeftError(.cancelled, "cancelled by the gateway"))
    }
    guard let job = batcher.cancel(link: index, dispatchID: dispatch.dispatchID) else { return }
    let completion = Completion(
      job: job, response: .failure(WeftError(.cancelled, "cancelled by the gateway before it ran")),
      isFinal: true, timing: .init())
    send(completion, at: now)
  }

  /// MESSAGE, HALF_CLOSE or CALL_CREDIT on an open call; one for a call that has ended
  /// (its FINAL crossed them) is dropped.
  private func continueCall(_ envelope: WorkerEnvelope, index: Int, at now: UInt64) {
    guard let call = streams[StreamKey(link: index, generation: links[index].generation, dispatchID: envelope.dispatchID)] else { return }
    let schedule: Bool
    switch envelope.command {
    case .message:
      // The gateway holds a client to its window; twice that is a broken peer.
      schedule = call.add(message: (1..<received.count).map { received.data(at: $0) }, limit: 2 * CallWindow.initialMessages)
    case .halfClose:
      schedule = call.halfClose()
    default:
      guard received.count >= 2, let count = CreditLimit.decode(received[1]) else {
        logger.warning("CALL_CREDIT without a 4-byte count")
        return
      }
      schedule = call.grant(Int(min(count, UInt32(CallWindow.maxResponses))))
    }
    if schedule { batcher.submit(.step(of: call, at: now)) }
  }

  /// Runs the requests gathered for an inline model and queues their replies.
  private func runInlineBatch() {
    guard !inlineBatch.isEmpty else { return }
    let now = MonotonicClock.now()
    let responses = ComputeThread.respond(
      to: inlineBatch.requests, tickets: inlineBatch.tickets, model: model, completionQueue: completionQueue, logger: logger)
    let finishedAt = MonotonicClock.now()
    // Partials an inline model emitted are in the completionQueue; they go first.
    sendCompletions(completionQueue.take(), at: now)
    for (ticket, response) in zip(inlineBatch.tickets, responses) {
      let timing = Completion.Timing(of: ticket, startedAt: now, finishedAt: finishedAt, batchSize: inlineBatch.count)
      send(Completion(ticket: ticket, response: response, isFinal: true, timing: timing), at: now)
    }
    inlineBatch.removeAll()
  }

  // MARK: Replies

  private func sendCompletions(_ completions: [Completion], at now: UInt64) {
    for completion in completions { send(completion, at: now) }
  }

  private func send(_ completion: Completion, at now: UInt64) {
    let ticket = completion.ticket
    let link = links[ticket.link]
    if let credit = completion.callCredit {
      guard ticket.generation == link.generation else { return }
      link.send(WorkerEnvelope(.callCredit, dispatchID: ticket.dispatchID), at: now) { $0.append(CreditLimit.encode(credit)) }
      return
    }
    if completion.isFinal && !streams.isEmpty {
      streams[StreamKey(link: ticket.link, generation: ticket.generation, dispatchID: ticket.dispatchID)] = nil
    }
    if completion.isFinal && completion.fromJob {
      pendingCount -= 1
      shares.finished(ticket.link, current: ticket.registration == link.registration)
    }
    // The link was replaced since the request came: that gateway already gave it to another worker.
    guard ticket.generation == link.generation else { return }
    let envelope = WorkerEnvelope(completion.isFinal ? .final : .partial, dispatchID: ticket.dispatchID, inlineHeader: ticket.inlineHeaders)
    headerWriter.bytes.removeAll(keepingCapacity: true)
    completion.header.encode(isFinal: completion.isFinal, origin: origin, into: &headerWriter)
    link.sendReply(envelope, header: headerWriter.bytes, body: completion.body, at: now)
  }

  // MARK: Liveness and draining

  /// Heartbeats idle links and replaces dead ones; returns true if a socket changed.
  private func housekeeping(at now: UInt64) throws -> Bool {
    var relinked = false
    // With several gateways, the shares follow the load once per heartbeat interval.
    if links.count > 1 && now >= nextRebalance {
      nextRebalance = now &+ interval
      try rebalance(byDemand: true, at: now)
    }
    for (index, link) in links.enumerated() {
      if drainStartedAt == nil && link.shouldReconnect(at: now, interval: interval, liveness: UInt64(configuration.liveness)) {
        logger.warning("gateway silent; reconnecting", metadata: ["gateway": "\(link.endpoint)"])
        endStreams(on: index, WeftError(.unavailable, "the worker lost its gateway"))
        try link.reconnect(at: now)
        try register(index, at: now)
        relinked = true
      } else if now >= link.lastSent &+ interval {
        link.send(.heartbeat, at: now)
      }
    }
    endStalledStreams(at: now)
    return relinked
  }

  /// Ends the open calls of link `index` (their FINALs go to a connection now gone).
  private func endStreams(on index: Int, _ error: WeftError) {
    for (key, call) in streams where key.link == index { call.cancel(error) }
  }

  /// Ends open calls whose client has had responses waiting for room too long.
  private func endStalledStreams(at now: UInt64) {
    let limit = configuration.streamStallTimeout
    let oldest = now &- limit.microseconds
    for call in streams.values {
      call.endIfStalled(blockedSince: oldest, limitSeconds: Double(limit.microseconds) / 1e6)
    }
  }

  private func beginDrain(at now: UInt64) throws {
    drainStartedAt = now
    logger.info("draining", metadata: ["in_flight": "\(pendingCount)"])
    for link in links { link.send(.disconnect, at: now) }
  }

  private func isDrained(at now: UInt64) -> Bool {
    guard let started = drainStartedAt else { return false }
    if now >= started &+ configuration.drainTimeout.microseconds {
      logger.warning("drain timeout; exiting with requests in flight", metadata: ["in_flight": "\(pendingCount)"])
      return true
    }
    // A gateway that never acknowledges (it is gone) cannot send more work either.
    let linksQuiet = links.allSatisfy { $0.drainAcknowledged || now > $0.lastHeard &+ interval &* UInt64(configuration.liveness) }
    return linksQuiet && pendingCount == 0
  }
}

/// How other threads talk to the worker's socket thread.
final class WorkerControl: Sendable {
  let wake: WakeSignal
  private let drainRequested = Mutex(false)

  init() throws { wake = try WakeSignal() }

  func requestDrain() {
    drainRequested.withLock { $0 = true }
    wake.signal()
  }

  var isDrainRequested: Bool { drainRequested.withLock { $0 } }
}

/// An open call's key: the gateway link it came on, that link's connection generation
/// (a dispatch id may come again on a new connection) and its dispatch id.
struct StreamKey: Hashable {
  let link: Int
  let generation: UInt64
  let dispatchID: UInt64
}
