import Logging
import WeftProtocol
import ZeroMQ

/// What a message in the clients' outbox is, for when the client's queue refuses it.
struct ClientDelivery {
  enum Kind {
    /// A reply to an admitted request (or a gateway error for one).
    case reply
    /// The refusal of a request never admitted: dropped past a client's request budget.
    case refusal
    /// A flow-control header on open call `dispatchID`: a client found gone ends the call.
    case flowControl(dispatchID: UInt64)
    /// A pack of `count` final replies (``GatewayLoop/packReplyToClient(_:bodyFrames:)``).
    case packedReplies(count: Int)
  }

  let client: PeerID
  let requestID: UInt64
  let kind: Kind
}

/// What a message in the workers' outbox is, for when the worker's connection refuses it.
struct WorkerDelivery {
  enum Kind {
    /// Request `dispatchID`; its frames past the envelope are the request's frames from
    /// `firstFrame` on, moved from the request unless `copied`.
    case request(dispatchID: UInt64, copied: Bool, firstFrame: Int)
    /// A command, or a message on an open call.
    case command
    /// A PACKED message of requests (copied in: their requests keep their frames); which
    /// ones, a refusal reads from the pack's envelopes.
    case packed
  }

  let worker: PeerID
  let kind: Kind
}

/// Small REQUESTs to one worker, packed as they are dispatched and sent as one PACKED
/// message (``GatewayLoop/packToWorker(_:envelope:inlineHeader:frames:range:)``).
struct WorkerPack {
  let worker: PeerID
  var pack: FramePack
}

/// Sending: every message is built in an outbox and the outboxes are flushed after
/// each batch read and at the end of each turn, so libzmq's I/O thread finds messages
/// together (one TCP write for many), not one at a time between routing steps; a lone
/// message is flushed at once (``drainFrontend()``).
///
/// A ROUTER refuses a message at its identity frame, with nothing sent: a refused
/// request goes back to its queue, a refused reply is held for its client.
extension GatewayLoop {
  /// Messages queued in an outbox past which a batch read stops to flush.
  static let outboxFlushCount = 64
  /// The same for the workers' outbox, whose small requests go packed: a larger pack
  /// wakes a worker's threads less often per request (switches per message 0.04 → 0.024
  /// for the echo worker, docs/BENCHMARKS.md, seventh session).
  static let workerOutboxFlushCount = 256

  /// Replies packed for clients past which a batch read stops to flush.
  static let packedRepliesFlushCount = 256

  /// Whether a message waits in either outbox or in an open pack.
  var outboxesHoldMessages: Bool { !toWorkers.isEmpty || !toClients.isEmpty || !workerPacks.isEmpty || !clientPacks.isEmpty }

  /// Messages for workers waiting to be sent, packed requests counted one by one.
  var workerMessagesWaiting: Int { toWorkers.count + packedSinceFlush }

  /// Appends [identity, signature, `header`, body frames] for a client: the identity is
  /// frame `index` of `identity` (shared if `keep`, else moved), `appendBody` adds the body.
  /// What is packed for the client goes first: the link keeps order.
  func queueToClient(
    _ delivery: ClientDelivery, identity: Frames, index: Int, keep: Bool, header: [UInt8],
    appendBody: (Frames) -> Void = { _ in }
  ) {
    if !clientPacks.isEmpty, let open = clientPacks.firstIndex(where: { $0.client == delivery.client }) { closeClientPack(at: open) }
    let frames = toClients.frames
    if keep { frames.append(copyOf: identity, at: index) } else { frames.append(moving: identity, at: index) }
    frames.append(Signature.client)
    frames.append(header)
    appendBody(frames)
    toClients.endMessage(delivery)
  }

  /// Appends [worker identity, envelope (+ `inlineHeader` in its frame), frames…] for
  /// `worker`; `appendRest` adds the frames after the envelope's. What is packed for the
  /// worker goes first: the link keeps order.
  func queueToWorker(
    _ delivery: WorkerDelivery, envelope: WorkerEnvelope, inlineHeader: UnsafeRawBufferPointer? = nil,
    appendRest: (Frames) -> Void = { _ in }
  ) {
    if !workerPacks.isEmpty, let open = workerPacks.firstIndex(where: { $0.worker == delivery.worker }) { closePack(at: open) }
    let frames = toWorkers.frames
    delivery.worker.withUnsafeBytes { frames.append($0) }
    envelope.withUnsafeBytes { encoded in
      if let inlineHeader { frames.append(encoded, followedBy: inlineHeader) } else { frames.append(encoded) }
    }
    appendRest(frames)
    toWorkers.endMessage(delivery)
  }

  /// Sends what both outboxes hold. Handling a refusal may queue more (a lost worker's
  /// requests go elsewhere, a gone client's call is cancelled): sent too, a few rounds at
  /// most; anything left goes at the end of the turn.
  func flushOutboxes() {
    for _ in 0..<4 where outboxesHoldMessages {
      var unreachable: [PeerID] = []
      while let last = workerPacks.indices.last { closePack(at: last) }
      packedSinceFlush = 0
      while let last = clientPacks.indices.last { closeClientPack(at: last) }
      repliesPackedSinceFlush = 0
      toWorkers.flush { delivery, range in
        do {
          try backend.send(toWorkers.frames, range: range, wait: false)
        } catch {
          guard case .packed = delivery.kind else {
            return refusedByWorker(delivery, range, error: error, unreachable: &unreachable)
          }
          // [identity, envelope, pack]: each packed REQUEST names its dispatch id.
          FramePack.forEachMessage(in: toWorkers.frames[range.upperBound - 1]) { message in
            var frames = message.makeIterator()
            guard let (envelope, _) = try? WorkerEnvelope.decodeHeaded(from: &frames) else { return }
            let packed = WorkerDelivery(worker: delivery.worker, kind: .request(dispatchID: envelope.dispatchID, copied: true, firstFrame: 0))
            refusedByWorker(packed, 0..<0, error: error, unreachable: &unreachable)
          }
        }
      }
      let now = MonotonicClock.now()
      for worker in unreachable {
        if let entry = routing.removeWorker(worker) { workerLost(entry, reason: "unreachable", at: now) }
      }
      toClients.flush { delivery, range in
        if !backlogs.isEmpty, backlogs[delivery.client] != nil { return holdForClient(delivery, range) }
        do {
          try frontend.send(toClients.frames, range: range, wait: false)
        } catch let error as ZMQError where error.isWouldBlock {
          holdForClient(delivery, range)  // the client's queue is full
        } catch {
          if case .packedReplies(let count) = delivery.kind { statistics.undeliverable += UInt64(count) } else { statistics.undeliverable += 1 }
          logger.debug("reply undeliverable", metadata: ["request": "\(delivery.requestID)", "error": "\(error)"])
          if case .flowControl(let id) = delivery.kind, let request = inFlight[id], request.isActive {
            endCall(id, request, .cancelled, "the client is gone", at: now)
          }
        }
      }
    }
  }

  /// Packs a small request for a worker that reads PACKED into that worker's open pack:
  /// the envelope (+ `inlineHeader` in its frame) and frames `range` of `frames`, copied
  /// in, so a refused pack restores nothing. A full pack is closed.
  func packToWorker(
    _ worker: PeerID, envelope: WorkerEnvelope, inlineHeader: UnsafeRawBufferPointer?, frames: Frames, range: Range<Int>
  ) {
    let index: Int
    if let open = workerPacks.firstIndex(where: { $0.worker == worker }) {
      index = open
    } else {
      index = workerPacks.count
      workerPacks.append(WorkerPack(worker: worker, pack: sparePacks.popLast() ?? FramePack()))
    }
    envelope.withUnsafeBytes { encoded in
      workerPacks[index].pack.startMessage(frameCount: 1 + range.count)
      workerPacks[index].pack.appendFrame(encoded, followedBy: inlineHeader)
    }
    for frame in range { workerPacks[index].pack.appendFrame(frames[frame]) }
    packedSinceFlush += 1
    if workerPacks[index].pack.isFull { closePack(at: index) }
  }

  /// Moves open pack `index` into the workers' outbox as one PACKED message.
  private func closePack(at index: Int) {
    var open = workerPacks.remove(at: index)
    let frames = toWorkers.frames
    open.worker.withUnsafeBytes { frames.append($0) }
    WorkerEnvelope(.packed).withUnsafeBytes { frames.append($0) }
    open.pack.bytes.withUnsafeBytes { frames.append($0) }
    toWorkers.endMessage(WorkerDelivery(worker: open.worker, kind: .packed))
    // Its storage serves the next pack.
    open.pack.removeAll()
    if sparePacks.count < 8 { sparePacks.append(open.pack) }
  }

  /// A worker's connection refused a message: it is gone (ROUTER_MANDATORY), or its
  /// queue is at its bound, which capacity keeps requests from meeting (so a refused
  /// request drops the worker either way; a command only when the worker is gone).
  /// A request goes back to the front of its queue, as nothing of it was sent; the
  /// worker is dropped after the flush, and its loss ends calls and shadows it held
  /// (a call's messages went to it). A command refused for a full queue is dropped (counted).
  private func refusedByWorker(_ delivery: WorkerDelivery, _ range: Range<Int>, error: any Error, unreachable: inout [PeerID]) {
    let isRequest = if case .request = delivery.kind { true } else { false }
    let isGone = (error as? ZMQError)?.isHostUnreachable == true
    if (isRequest || isGone) && !unreachable.contains(delivery.worker) { unreachable.append(delivery.worker) }
    guard case .request(let id, let copied, let firstFrame) = delivery.kind, let request = inFlight[id], request.worker == delivery.worker,
      request.isActive, request.call == nil, !request.isShadow
    else {
      if !isGone { statistics.workerMessagesDropped += 1 }
      return
    }
    if !copied {
      // Frames 2… of the message are the request's frames `firstFrame`…, moved out when queued.
      for (offset, index) in range.dropFirst(2).enumerated() {
        request.frames.replace(firstFrame + offset, moving: toWorkers.frames, at: index)
      }
    }
    request.returnToQueue(at: MonotonicClock.now())
    enqueue(id, request, version: request.version, atFront: true)
    // Sent again because its worker is lost, like the requests that worker held.
    statistics.redispatched += 1
  }

  /// Keeps a client's reply its queue had no room for (or that must follow replies
  /// already held); a refusal past the client's budget of held refusals is dropped.
  private func holdForClient(_ delivery: ClientDelivery, _ range: Range<Int>) {
    if case .refusal = delivery.kind, let backlog = backlogs[delivery.client] {
      // A client that keeps sending and never reads would have refusals held without end.
      guard backlog.refusalsAdded < configuration.maxInFlightPerClient else {
        statistics.undeliverable += 1
        return
      }
      backlog.refusalsAdded += 1
    }
    let reply = Frames(capacity: range.count)
    reply.append(moving: toClients.frames, range: range)
    hold(reply, for: delivery.client)
  }
}
