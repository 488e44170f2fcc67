import Logging
import WeftProtocol
import ZeroMQ

/// Messages from workers: registration, replies, heartbeats, leaving.
extension GatewayLoop {
  /// Handles `received` = [worker identity, envelope, …].
  func handleWorkerMessage(at now: UInt64) {
    guard let worker = PeerID(received[0]) else { return noteMalformed(.workerIdentity, at: now, "\(received.size(at: 0)) bytes") }
    // With CURVE, only worker keys get past the handshake; one revoked since is dropped.
    if keyRing != nil && sender()?.role != .worker {
      if let entry = routing.removeWorker(worker) { workerLost(entry, reason: "its key is no longer allowed", at: now) }
      return noteMalformed(.workerKeyRevoked, at: now, "\(worker)")
    }
    let envelope: WorkerEnvelope
    do {
      guard received.count >= 2, !received.overflowed else { throw WorkerEnvelope.Malformed.notAWorkerSignature }
      envelope = try WorkerEnvelope(decoding: received[1])
    } catch {
      return noteMalformed(.workerEnvelope, at: now, "from \(worker), \(received.count) frames: \(error)")
    }
    let command = envelope.command
    let entry = routing.heard(from: worker, at: now)
    let known = entry != nil

    switch command {
    case .ready:
      registerWorker(worker, at: now)
    case .heartbeat:
      // An unknown worker (e.g. after a gateway restart) is told to register again.
      if !known { tellToRegister(worker, at: now) }
    case .partial, .final:
      guard known else { return tellToRegister(worker, at: now) }
      guard received.count >= replyBodyStart else { return noteMalformed(.workerReply, at: now, "from \(worker)") }
      forwardReply(envelope.dispatchID, from: worker, entry: entry, isFinal: command == .final, at: now)
    case .disconnect:
      // Acknowledge first: no REQUEST follows this on the link, so the worker may exit
      // once what it holds is done.
      sendToWorker(worker, command: .disconnect, at: now)
      guard known else { return }
      routing.drain(worker)
      logger.info("worker draining", metadata: ["worker": "\(routing.workers[worker]?.name ?? "\(worker)")"])
      let service = routing.workers[worker]?.service
      if routing.workers[worker]?.outstanding == 0 { routing.removeWorker(worker) }
      if let service {
        rerouteStranded(service: service)
        dispatchQueued(service: service, at: now)
      }
    case .credit:
      guard let entry else { return tellToRegister(worker, at: now) }
      guard received.count >= 3, let limit = CreditLimit.decode(received[2]) else {
        return noteMalformed(.workerEnvelope, at: now, "CREDIT from \(worker) without a 4-byte limit")
      }
      let raised = Int(limit) > entry.capacity
      entry.capacity = routing.cappedCapacity(limit)
      sendToWorker(worker, command: .credit, limit: entry.capacity, at: now)
      if raised { dispatchQueued(service: entry.service, freed: entry.version, at: now) }
    case .callCredit:
      guard known else { return tellToRegister(worker, at: now) }
      guard received.count >= 3, let count = CreditLimit.decode(received[2]) else {
        return noteMalformed(.workerEnvelope, at: now, "CALL_CREDIT from \(worker) without a 4-byte count")
      }
      grantMessages(Int(count), to: envelope.dispatchID, from: worker, at: now)
    case .packed:
      handlePacked(from: worker, entry: entry, at: now)
    case .request, .cancel, .message, .halfClose:
      noteMalformed(.workerCommand, at: now, "\(command) from \(worker)")
    }
  }

  /// Handles each reply of the PACKED in `received` = [identity, envelope, pack] as if it
  /// came alone, read in place from the pack: no frames are made for it. A worker packs
  /// only its PARTIALs and FINALs; anything else in a pack (READY would name the key of
  /// the pack's frames, which have none) is refused.
  private func handlePacked(from worker: PeerID, entry: WorkerEntry?, at now: UInt64) {
    guard received.count == 3 else { return noteMalformed(.workerPacked, at: now, "from \(worker): \(received.count - 1) frames") }
    do {
      _ = try FramePack.validate(received[2], maxFrames: maxFrames)
    } catch {
      return noteMalformed(.workerPacked, at: now, "from \(worker): \(error)")
    }
    guard entry != nil else { return tellToRegister(worker, at: now) }
    // Kept apart from `received`, which handling a reply may use.
    packRead.removeAll()
    packRead.append(moving: received, range: 0..<3)
    defer {
      replySource = .received
      packRead.removeAll()
    }
    FramePack.forEachMessage(in: packRead[2]) { message in
      var frames = message.makeIterator()
      guard let (envelope, header) = try? WorkerEnvelope.decodeHeaded(from: &frames) else {
        return noteMalformed(.workerEnvelope, at: now, "from \(worker), inside a PACKED")
      }
      guard envelope.command == .partial || envelope.command == .final else {
        return noteMalformed(.workerPacked, at: now, "\(envelope.command) from \(worker) inside a PACKED")
      }
      guard let header else { return noteMalformed(.workerReply, at: now, "from \(worker)") }
      replySource = .packed(header: header, body: frames)
      forwardReply(envelope.dispatchID, from: worker, entry: entry, isFinal: envelope.command == .final, at: now)
    }
  }

  /// Answers a message from a peer that has not registered with DISCONNECT, which makes
  /// a real worker send READY again; counted, and logged at most once a second.
  private func tellToRegister(_ worker: PeerID, at now: UInt64) {
    noteMalformed(.workerUnknown, at: now, "\(worker)")
    sendToWorker(worker, command: .disconnect, at: now)
  }

  private func registerWorker(_ worker: PeerID, at now: UInt64) {
    let ready: WorkerReady
    do {
      guard received.count >= 3 else { throw WeftError(.invalidArgument, "READY without a WorkerReady frame") }
      ready = try WorkerReady(borrowing: received[2])
      let earlier = try routing.workerReady(
        id: worker, ready: ready, defaultHeartbeat: configuration.heartbeatInterval.microseconds, at: now)
      if let earlier { workerLost(earlier, reason: "it reconnected", at: now) }
      if let key = sender() { routing.workers[worker]?.keyName = key.name }
    } catch {
      noteMalformed(.workerRegistration, at: now, "\(worker): \(error)")
      sendToWorker(worker, command: .disconnect, reason: "registration refused: \(error)", at: now)
      return
    }
    logger.info(
      "worker ready",
      metadata: [
        "worker": "\(ready.name)", "service": "\(ready.service)", "version": "\(ready.version)",
        "capacity": "\(ready.capacity)",
      ])
    // The limit applied, so a worker splitting its capacity among gateways knows it holds.
    sendToWorker(worker, command: .credit, limit: routing.workers[worker]?.capacity ?? 0, at: now)
    nextHousekeeping = min(nextHousekeeping, now)
    dispatchQueued(service: ready.service, freed: ready.version, at: now)
  }

  /// Whether the worker reply in `received` (a PARTIAL or FINAL whose envelope was
  /// checked) has its header in the envelope's frame.
  private var replyHeaderInline: Bool { WorkerEnvelope.hasInlineHeader(received[1]) }

  /// The index in `received` of the worker reply's first body frame.
  private var replyBodyStart: Int { replyHeaderInline ? 2 : 3 }

  /// The header of the worker reply being handled: in `received`, after the envelope in
  /// its frame or the next frame; or in its pack.
  var replyHeader: UnsafeRawBufferPointer {
    switch replySource {
    case .received: replyHeaderInline ? WorkerEnvelope.inlineHeader(in: received[1]) : received[2]
    case .packed(let header, _): header
    }
  }

  /// Appends the body frames of the worker reply being handled to `frames`: moved out of
  /// `received` unless `copying`; copied from its pack.
  func appendReplyBody(to frames: Frames, copying: Bool) {
    switch replySource {
    case .received:
      let range = replyBodyStart..<received.count
      if copying { frames.append(copiesOf: received, range: range) } else { frames.append(moving: received, range: range) }
    case .packed(_, var body):
      while let frame = body.next() { frames.append(frame) }
    }
  }

  /// Calls `body` with each body frame of the worker reply being handled, in place.
  func forEachReplyBodyFrame(_ body: (UnsafeRawBufferPointer) -> Void) {
    switch replySource {
    case .received:
      for index in replyBodyStart..<received.count { body(received[index]) }
    case .packed(_, var frames):
      while let frame = frames.next() { body(frame) }
    }
  }

  /// How many body frames the worker reply being handled has, if it is small enough to
  /// pack for a client (``FramePack/packableMessageBytes``, with its header).
  private func packableReplyBodyFrames(headerBytes: Int) -> Int? {
    var frames = 0
    var bytes = headerBytes
    forEachReplyBodyFrame { frame in
      frames += 1
      bytes += frame.count
    }
    return bytes <= FramePack.packableMessageBytes && frames < maxFrames - 2 ? frames : nil
  }

  /// Sends the worker reply being handled (``replySource``) on to the client.
  private func forwardReply(_ id: UInt64, from worker: PeerID, entry: WorkerEntry?, isFinal: Bool, at now: UInt64) {
    // A reply from a worker that no longer holds the request (evicted, then back) is stale.
    guard let request = inFlight[id], request.worker == worker else { return }
    guard request.isActive else {
      if isFinal { releaseWorker(entry, of: request, completed: false, at: now); finish(id) }
      return
    }
    guard isFinal else {
      if request.isShadow { return }  // a shadow's partial replies are dropped
      return forwardPartial(id, request, from: worker, at: now)
    }
    let (status, workerQueue, compute, batchSize) = ProtobufScan.varintFields(2, 7, 8, 10, in: replyHeader) ?? (2, 0, 0, 0)
    let code = StatusCode(rawValue: UInt8(clamping: status)) ?? .unknown
    let total = now &- request.receivedAt
    if request.isShadow {
      request.figures?.shadow.record(
        code, total: total, queue: request.queuedMicroseconds + workerQueue, compute: compute)
      releaseWorker(entry, of: request, completed: true, at: now)
      return finish(id)
    }
    request.figures?.served.record(code, total: total, queue: request.queuedMicroseconds + workerQueue, compute: compute)
    request.figures?.timers?.record(
      total: total, gatewayQueue: request.queuedMicroseconds, workerQueue: workerQueue, compute: compute, batchSize: batchSize)
    if request.isPersonalization {
      if code == .ok {
        sendPersonalizedReply(request, at: now)
      } else {
        sendModelReply(request, note: "the recommender answered \(code.name)", at: now)
      }
    } else if wantsPersonalization(request, code: code) {
      if let skipped = startPersonalization(of: request, at: now) {
        personalizations.count(service: request.service, .skipped)
        sendReply(request, finalStatus: code, note: skipped, at: now)
      }
    } else {
      if code == .ok && serviceEntry(of: request)?.isRecommender == true && request.method == RecommenderService.feedback.name {
        creditReward(fromFeedbackReply: replyHeader)
      }
      sendReply(request, finalStatus: code, at: now)
    }
    releaseWorker(entry, of: request, completed: true, at: now)
    finish(id)
  }

  /// Sends a stream's partial reply on; a stream whose client has a budget's worth of
  /// replies unread is ended instead (RESOURCE_EXHAUSTED) and its worker told to stop.
  private func forwardPartial(_ id: UInt64, _ request: InFlightRequest, from worker: PeerID, at now: UInt64) {
    if let client = request.client, isPastReplyBudget(client.id) {
      statistics.clientBudgetRefusals += 1
      replyError(
        to: id, .resourceExhausted,
        "stream ended: this client has \(configuration.maxHeldReplyBytesPerClient) bytes of replies it has not read, the gateway's limit per client")
      request.state = .abandoned(worker: worker)
      return sendToWorker(worker, command: .cancel, dispatchID: id, at: now)
    }
    sendReply(request, finalStatus: nil, at: now)
    request.streamed = true
    request.call?.lastSentToClient = now
  }

  /// Sends `received`'s reply on to `request`'s client, its header patched with the
  /// client's request id and the gateway's timings; `finalStatus` is nil for a partial
  /// one. `note` says why a reply that was to be personalised is not.
  private func sendReply(_ request: InFlightRequest, finalStatus: StatusCode?, note: String? = nil, at now: UInt64) {
    var patch = ResponseHeaderPatch()
    if let note { patch.metadata = [(PersonalizationMetadata.note, "skipped: \(note)")] }
    writeReplyHeader(for: request, header: replyHeader, patch: patch, finalStatus: finalStatus, at: now)
    // A final reply to a request that came packed goes packed, if small.
    if finalStatus != nil && request.repliesPacked, let bodyFrames = packableReplyBodyFrames(headerBytes: headerScratch.count) {
      return packReplyToClient(request, bodyFrames: bodyFrames)
    }
    queueReply(to: request, final: finalStatus != nil) { appendReplyBody(to: $0, copying: false) }
  }

  /// Sends a reply built from `header` (a worker's encoded ResponseHeader, patched with
  /// the client's request id and the gateway's timings) and the frames `appendBody` adds
  /// to `request`'s client.
  func sendToClient(
    _ request: InFlightRequest, header: UnsafeRawBufferPointer, patch: ResponseHeaderPatch, finalStatus: StatusCode?,
    at now: UInt64, appendBody: (Frames) -> Void
  ) {
    writeReplyHeader(for: request, header: header, patch: patch, finalStatus: finalStatus, at: now)
    queueReply(to: request, final: finalStatus != nil, appendBody: appendBody)
  }

  /// Writes `header` patched for `request`'s client (its request id, the gateway's
  /// timings, a reward token) into `headerScratch`, and counts a final reply's status.
  private func writeReplyHeader(
    for request: InFlightRequest, header: UnsafeRawBufferPointer, patch: ResponseHeaderPatch, finalStatus: StatusCode?,
    at now: UInt64
  ) {
    var patch = patch
    if finalStatus == .ok, let token = rewardToken(for: request, modelHeader: header) {
      patch.metadata.append((RewardMetadata.token, token))
    }
    patch.requestID = request.requestID
    patch.gatewayQueueMicroseconds = request.queuedMicroseconds
    patch.totalMicroseconds = now &- request.receivedAt
    headerScratch.removeAll(keepingCapacity: true)
    headerScratch.append(contentsOf: header)
    patch.encode(into: &headerScratch)

    if let finalStatus { statistics.replies[Int(finalStatus.rawValue)] += 1 }
  }

  /// Queues [identity, signature, `headerScratch`, body frames `appendBody` adds] for
  /// `request`'s client; the identity stays with a request that is not `final`.
  private func queueReply(to request: InFlightRequest, final: Bool, appendBody: (Frames) -> Void) {
    let client = request.clientKey
    let delivery = ClientDelivery(client: client, requestID: request.requestID, kind: .reply)
    queueToClient(delivery, identity: request.frames, index: 0, keep: !final, header: headerScratch, appendBody: appendBody)
  }

  /// Frees a worker slot, then lets the service's queue use it.
  private func releaseWorker(_ entry: WorkerEntry?, of request: InFlightRequest, completed: Bool, at now: UInt64) {
    guard let service = serviceEntry(of: request) else { return }
    guard let entry else { return dispatchQueued(service, at: now) }
    entry.release(completed: completed)
    if entry.draining, entry.outstanding == 0 {
      routing.removeWorker(entry.id)
      logger.info("worker drained and left", metadata: ["worker": "\(entry.name)"])
    }
    dispatchQueued(service, freed: entry.version, at: now)
  }

  /// A worker died or vanished: retry what it held where that is safe, fail the rest.
  func workerLost(_ worker: WorkerEntry, reason: String, at now: UInt64) {
    statistics.workersEvicted += 1
    logger.warning("worker removed", metadata: ["worker": "\(worker.name)", "service": "\(worker.service)", "reason": "\(reason)"])
    let held = inFlight.ids { $0.worker == worker.id }
    for id in held {
      guard let request = inFlight[id] else { continue }
      guard request.isActive else {
        finish(id)
        continue
      }
      if request.idempotent && !request.streamed && request.attempts < configuration.maxAttempts {
        request.state = .queued(since: now)
        enqueue(id, request, version: request.version, atFront: true)
        statistics.redispatched += 1
      } else {
        let why = request.call != nil
          ? "during the call (a call that stays open is not moved: its messages went to that worker)"
          : request.idempotent
          ? (request.streamed ? "after streaming part of its reply" : "after \(request.attempts) attempts")
          : "and the request is not idempotent"
        replyError(to: id, .unavailable, "worker \(worker.name) was lost (\(reason)) \(why)")
        finish(id)
      }
    }
    rerouteStranded(service: worker.service)
    dispatchQueued(service: worker.service, at: now)
  }
}
