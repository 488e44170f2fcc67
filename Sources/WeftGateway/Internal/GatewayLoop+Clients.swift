import Logging
import WeftProtocol
import ZeroMQ

/// Requests from clients: validate, admit, queue or dispatch.
extension GatewayLoop {
  /// Handles `received` = [client identity, signature, header, body…].
  func handleClientMessage(at now: UInt64) {
    let frameCount = received.count
    if received.overflowed {
      noteMalformed(.clientFrames, at: now, "over \(maxFrames) frames")
      return rejectReceived(0, .invalidArgument, "message has more than \(maxFrames) frames")
    }
    guard frameCount >= 3 else {
      noteMalformed(.clientFrames, at: now, "\(frameCount - 1) frames")
      return rejectReceived(0, .invalidArgument, "message has \(frameCount - 1) frames; expected a signature, a RequestHeader and body frames")
    }
    var signature = Signature.check(received[1], expected: Signature.client)
    if signature == .invalid {
      signature = Signature.check(received[1], expected: Signature.clientPacked)
      // Requests read from a pack get the plain signature: a pack never holds a pack.
      if signature == .valid { return readClientPack(at: now) }
    }
    switch signature {
    case .valid: break
    case .invalid:
      noteMalformed(.clientSignature, at: now, "\(received.size(at: 1)) bytes")
      return rejectReceived(0, .invalidArgument, "first frame is not a Weft client signature (\"WFC\" or \"WFP\" + version)")
    case .unsupportedVersion(let version):
      noteMalformed(.clientVersion, at: now, "version \(version)")
      return rejectReceived(0, .unimplemented, "protocol version \(version) is not supported; this gateway speaks \(Signature.version)")
    }
    let header: RoutingFields
    do {
      header = try RoutingFields(parsing: received[2], names: names)
    } catch {
      noteMalformed(.clientHeader, at: now, "\(error)")
      return rejectReceived(0, .invalidArgument, "second frame is not a valid RequestHeader: \(error)")
    }
    let requestID = header.requestID
    if header.cancel { return cancelClientRequest(requestID, client: PeerID(budgetKeyOf: received[0]), at: now) }
    // With CURVE, only keys still in the ring reach here; one revoked since it connected is refused.
    let role = sender()?.role
    if keyRing != nil && role == nil {
      return rejectReceived(requestID, .unauthenticated, "this client's key is no longer allowed by the gateway")
    }
    // Before the drain check: a draining gateway lets open calls finish.
    if header.callFrame != CallFrame.open.rawValue { return continueCall(header, at: now) }
    guard !header.service.isEmpty, !header.method.isEmpty else {
      return rejectReceived(requestID, .invalidArgument, "request header must name a service and a method")
    }
    if draining { return rejectReceived(requestID, .unavailable, "gateway is shutting down") }
    let client = PeerID(budgetKeyOf: received[0])
    if isPastReplyBudget(client) {
      statistics.clientBudgetRefusals += 1
      return rejectReceived(
        requestID, .resourceExhausted,
        "this client has \(configuration.maxHeldReplyBytesPerClient) bytes of replies it has not read, the gateway's limit per client; read them first")
    }
    if header.service == WeftMeshService.name { return answerMeshRequest(header, role: role, at: now) }

    let bodyBytes = received.totalSize(3..<frameCount)
    guard bodyBytes <= configuration.maxRequestBytes else {
      return rejectReceived(requestID, .resourceExhausted, "request body is \(bodyBytes) bytes; this gateway accepts at most \(configuration.maxRequestBytes)")
    }
    let service: ServiceEntry
    let staysOpen: Bool
    switch routingCheck(header) {
    case .success(let routed): (service, staysOpen) = routed
    case .failure(let refusal): return rejectReceived(requestID, refusal.code, refusal.message)
    }
    guard inFlight.count < configuration.maxInFlight else {
      return rejectReceived(requestID, .resourceExhausted, "gateway has \(inFlight.count) requests in flight, its limit")
    }
    let record = lastClient?.id == client ? lastClient : clients[client]
    guard (record?.inFlight ?? 0) < configuration.maxInFlightPerClient else {
      statistics.clientBudgetRefusals += 1
      return rejectReceived(
        requestID, .resourceExhausted,
        "this client has \(configuration.maxInFlightPerClient) requests in flight, the gateway's limit per client; wait for replies")
    }

    let (version, figures) = chooseVersion(service, named: header.version, userID: header.userID)
    let worker = service.pickWorker(version: version)
    if worker == nil && service.queuedCount >= configuration.queueLimit {
      return rejectReceived(requestID, .resourceExhausted, "service '\(header.service)' has \(configuration.queueLimit) requests queued, its limit")
    }
    let (id, request) = admit(header, service: service, client: record ?? newClient(client), version: version, figures: figures, at: now)
    if staysOpen {
      request.keepOpen(OpenCall(firstMessage: frameCount > 3, at: now))
      openCallCount += 1
    }
    // Copied before the primary's dispatch, which may hand its frames to the socket. A
    // call that stays open has no shadow: its messages go to one worker.
    let shadow = service.router == nil || staysOpen ? nil : shadowCopy(of: id, router: service.router!, at: now)
    if let worker {
      dispatch(id, to: worker, at: now)
    } else {
      enqueue(id, request, version: version)
    }
    if let shadow { sendShadow(shadow, at: now) }
  }

  /// The request's service and whether its method's call stays open, or why no worker of
  /// it could ever take this request.
  private func routingCheck(_ header: RoutingFields) -> Result<(service: ServiceEntry, staysOpen: Bool), WeftError> {
    // Services are never removed from the table, so the last one found stays valid.
    let known: ServiceEntry?
    if let last = lastService, last.name == header.service {
      known = last
    } else {
      known = routing.services[header.service]
      if known != nil { lastService = known }
    }
    guard let service = known, service.hasLiveWorker() else {
      return .failure(WeftError(.unavailable, "no worker serves service '\(header.service)'"))
    }
    guard let staysOpen = service.callStaysOpen(method: header.method) else {
      let known = service.methods.map(\.name).joined(separator: ", ")
      return .failure(WeftError(.notFound, "service '\(header.service)' has no method '\(header.method)'; it serves: \(known)"))
    }
    if !header.version.isEmpty && !service.hasLiveWorker(version: header.version) {
      return .failure(WeftError(.notFound, "service '\(header.service)' has no live worker of version '\(header.version)'"))
    }
    return .success((service, staysOpen))
  }

  /// Takes the received frames into a new in-flight request of `client` for `service`,
  /// bound to `version` ("" for any), counts it in the client's budget and starts its deadline.
  private func admit(
    _ header: RoutingFields, service: ServiceEntry, client: ClientRecord, version: String, figures: VersionFigures?,
    at now: UInt64
  ) -> (id: UInt64, request: InFlightRequest) {
    let request = takeRequest()
    let frames = request.frames
    frames.append(moving: received, at: 0)
    frames.append(moving: received, range: 2..<received.count)
    let timeout = header.timeoutMilliseconds > 0 ? UInt64(header.timeoutMilliseconds) * 1_000 : timeouts.default
    let deadline = now &+ min(timeout, timeouts.max)
    request.start(header, version: version, figures: figures, deadline: deadline, at: now)
    request.repliesPacked = readingClientPack
    request.serviceEntry = service
    request.client = client
    client.inFlight += 1
    let id = inFlight.insert(request)
    client.calls.set(id, for: header.requestID)
    lastClient = client
    deadlines.insert(id: id, deadline: deadline)
    // Finished requests leave their entries behind; sweep them once they dominate.
    if deadlines.count > 4 * inFlight.count + 65_536 {
      let live = inFlight
      deadlines.compact { live.contains($0) }
    }
    return (id, request)
  }

  /// A record for a client with nothing in flight yet.
  private func newClient(_ id: PeerID) -> ClientRecord {
    let record = ClientRecord(id: id)
    clients[id] = record
    return record
  }

  /// Sends request `id` to `worker` (through the workers' outbox: a worker found gone
  /// there is dropped, and the request queued again).
  func dispatch(_ id: UInt64, to worker: WorkerEntry, at now: UInt64) {
    guard let request = inFlight[id] else { return }
    let remaining = request.deadline > now ? (request.deadline - now + 999) / 1_000 : 1
    // A worker that reads it gets the header in the envelope's frame: one frame less each way.
    let inline = worker.inlineHeaders
    // A small request to a worker that reads them goes packed with the others of this turn.
    let packed = worker.readsPacked && request.frames.totalSize(1..<request.frames.count) <= FramePack.packableMessageBytes
    // Frames a retry or the recommender will read again, or a pack copies, are shared
    // (large ones by reference count), the rest moved.
    let copied = request.idempotent || request.personalize || packed
    let envelope = WorkerEnvelope(.request, dispatchID: id, remainingMilliseconds: UInt32(clamping: remaining), inlineHeader: inline)
    let sent = (inline ? 2 : 1)..<request.frames.count
    let inlineHeader = inline ? request.frames[1] : nil
    if packed {
      packToWorker(worker.id, envelope: envelope, inlineHeader: inlineHeader, frames: request.frames, range: sent)
    } else {
      let delivery = WorkerDelivery(worker: worker.id, kind: .request(dispatchID: id, copied: copied, firstFrame: sent.lowerBound))
      queueToWorker(delivery, envelope: envelope, inlineHeader: inlineHeader) { frames in
        if copied {
          frames.append(copiesOf: request.frames, range: sent)
        } else {
          frames.append(moving: request.frames, range: sent)
        }
      }
    }
    request.markDispatched(to: worker.id, at: now)
    worker.assign(at: now)
    request.figures = worker.figures
    if let call = request.call { sendWaiting(call, id: id, to: worker.id, at: now) }
  }

  /// Dispatches queued requests of `service` while workers of their versions have room:
  /// when a worker of version `freed` has room again, those bound to it and those for any
  /// version; without `freed` (workers came or went), every queue of the service.
  func dispatchQueued(service: String, freed: String? = nil, at now: UInt64) {
    guard let entry = routing.services[service] else { return }
    dispatchQueued(entry, freed: freed, at: now)
  }

  /// ``dispatchQueued(service:freed:at:)`` for a service entry already at hand.
  func dispatchQueued(_ entry: ServiceEntry, freed: String? = nil, at now: UInt64) {
    // Mostly nothing waits (every FINAL comes here). The queues may still hold ids of
    // requests that ended there; they are skipped whenever a queue is next read.
    guard entry.queuedCount > 0 else { return }
    if !entry.versionQueues.isEmpty {
      if let freed {
        if entry.versionQueues[freed] != nil { dispatchQueued(entry, version: freed, at: now) }
      } else {
        // A copy of the keys: draining a queue removes its key.
        for version in Array(entry.versionQueues.keys) { dispatchQueued(entry, version: version, at: now) }
      }
    }
    dispatchQueued(entry, version: "", at: now)
  }

  private func dispatchQueued(_ entry: ServiceEntry, version: String, at now: UInt64) {
    while let id = version.isEmpty ? entry.queue.first : entry.versionQueues[version]?.first {
      guard let request = inFlight[id], case .queued = request.state else {
        _ = routing.popQueued(service: entry.name, version: version)  // expired or answered: skip
        continue
      }
      guard let worker = entry.pickWorker(version: version) else { return }
      _ = routing.popQueued(service: entry.name, version: version)
      routing.queuedRequestLeft(service: entry.name)
      dispatch(id, to: worker, at: now)
    }
  }

  /// The client gave up on its request `requestID`: it leaves the queue, or its worker gets
  /// CANCEL; either way it is answered CANCELLED. Unknown or finished requests are ignored
  /// (the cancel crossed the reply).
  private func cancelClientRequest(_ requestID: UInt64, client: PeerID, at now: UInt64) {
    guard let id = clients[client]?.calls[requestID], let request = inFlight[id],
      request.isActive
    else { return }
    statistics.cancelledByClients += 1
    endEarly(
      id, request, .cancelled, queued: "cancelled by the client while queued",
      running: "cancelled by the client while running on a worker", at: now)
  }

  /// Answers request `id` with `code` before a worker did: a queued one leaves its queue,
  /// a running one's worker gets CANCEL (and its reply is dropped). Returns whether it was queued.
  @discardableResult
  func endEarly(
    _ id: UInt64, _ request: InFlightRequest, _ code: StatusCode, queued: @autoclosure () -> String,
    running: @autoclosure () -> String, at now: UInt64
  ) -> Bool {
    switch request.state {
    case .queued:
      routing.queuedRequestLeft(service: request.service)
      replyError(to: id, code, queued())
      finish(id)
      return true
    case .dispatched(let worker, _):
      replyError(to: id, code, running())
      request.state = .abandoned(worker: worker)
      sendToWorker(worker, command: .cancel, dispatchID: id, at: now)
    case .abandoned:
      break
    }
    return false
  }

  /// Answers requests whose deadline passed: DEADLINE_EXCEEDED to the client, CANCEL to the worker.
  func expireDeadlines(at now: UInt64) {
    while let (deadline, id) = deadlines.popExpired(at: now) {
      guard let request = inFlight[id], request.deadline == deadline, request.isActive else { continue }
      let waited = (now &- request.receivedAt) / 1_000
      let service = request.service
      let why = request.attempts > 0
        ? "its worker died and no other worker of '\(service)' was free in time" : "no worker of '\(service)' was free in time"
      let wasQueued = endEarly(
        id, request, .deadlineExceeded, queued: "deadline exceeded after \(waited) ms: \(why)",
        running: "deadline exceeded after \(waited) ms while running on a worker", at: now)
      if wasQueued {
        let live = inFlight
        routing.compactQueue(service: service) { live.contains($0) }
      }
    }
  }
}
