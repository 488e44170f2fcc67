import SwiftProtobuf
import Logging
import WeftProtocol
import ZeroMQ

/// Replies the gateway writes itself: errors, and commands to workers.
extension GatewayLoop {
  /// Answers the message in `received` (its identity in frame 0) with an error. The
  /// request was never admitted, so a client that is not reading may lose this answer
  /// (counted as undeliverable) rather than have the gateway hold it without end.
  func rejectReceived(_ requestID: UInt64, _ code: StatusCode, _ message: String) {
    var header = ResponseHeader()
    header.requestID = requestID
    header.status = code.wireValue
    header.message = message
    header.endOfStream = true
    sendToClient(identity: received, index: 0, keep: false, header: header, isRefusal: true)
  }

  /// Answers in-flight request `id` with an error and records it against its version;
  /// the caller removes or abandons it. A shadow copy's error is only recorded.
  func replyError(to id: UInt64, _ code: StatusCode, _ message: String) {
    guard let request = inFlight[id] else { return }
    let now = MonotonicClock.now()
    let total = now &- request.receivedAt
    if request.isShadow {
      request.figures?.shadow.record(code, total: total)
      return
    }
    request.figures?.served.record(code, total: total)
    request.figures?.timers.record(total: total, gatewayQueue: request.queuedMicroseconds)
    // A recommender stage that fails, for whatever reason, still answers with the model's reply.
    if request.isPersonalization { return sendModelReply(request, note: "\(code.name): \(message)", at: now) }
    var header = ResponseHeader()
    header.requestID = request.requestID
    header.status = code.wireValue
    header.message = message
    header.endOfStream = true
    header.totalUs = total
    sendToClient(identity: request.frames, index: 0, keep: false, header: header)
  }

  /// Sends a header-only reply (or one with `body`) to the client whose identity is frame
  /// `index` of `identity`; `keep` leaves that frame in place for later replies.
  func sendToClient(
    identity: Frames, index: Int, keep: Bool, header: ResponseHeader, body: [UInt8]? = nil, isRefusal: Bool = false
  ) {
    statistics.replies[Int(StatusCode(wireValue: header.status).rawValue)] += 1
    guard let encoded: [UInt8] = try? header.serializedBytes() else {
      statistics.undeliverable += 1
      return
    }
    let client = PeerID(budgetKeyOf: identity[index])
    let delivery = offer(encoded, body: body, identity: identity, index: index, keep: keep, to: client, requestID: header.requestID)
    guard delivery == .hold else { return }
    // A client that keeps sending and never reads would have refusals held without end:
    // past as many as it may have requests in flight, they are dropped (counted).
    if isRefusal, let backlog = backlogs[client] {
      guard backlog.refusalsAdded < configuration.maxInFlightPerClient else {
        statistics.undeliverable += 1
        return
      }
      backlog.refusalsAdded += 1
    }
    hold(encoded, body: body, identity: identity, index: index, keep: keep, for: client)
  }

  /// Offers [identity, signature, `encoded` header, `body`] to `client` now (``deliverNow``);
  /// `keep` leaves the identity frame in place for later replies.
  func offer(
    _ encoded: [UInt8], body: [UInt8]? = nil, identity: Frames, index: Int, keep: Bool, to client: PeerID, requestID: UInt64
  ) -> Delivery {
    deliverNow(to: client, requestID: requestID) {
      try frontend.send(identity, at: index, more: true, wait: false, keep: keep)
      try frontend.send(Signature.client, more: true)
      try frontend.send(encoded, more: body != nil)
      if let body { try frontend.send(body, more: false) }
    }
  }

  /// Keeps the reply ``offer`` could not send for `client`, until its queue has room.
  func hold(_ encoded: [UInt8], body: [UInt8]? = nil, identity: Frames, index: Int, keep: Bool, for client: PeerID) {
    let reply = Frames(capacity: 4)
    if keep { reply.append(copyOf: identity, at: index) } else { reply.append(moving: identity, at: index) }
    reply.append(Signature.client)
    reply.append(encoded)
    if let body { reply.append(body) }
    hold(reply, for: client)
  }

  // MARK: Replies a client has no room for

  /// What became of a reply offered to a client's queue.
  enum Delivery { case sent, failed, hold }

  /// Runs `send` (a whole reply, its identity frame first) unless `client` has replies
  /// held, which must go first; `.hold` when the reply is to be kept (nothing was sent),
  /// `.failed` (counted) when the client is gone.
  func deliverNow(to client: PeerID, requestID: UInt64, _ send: () throws -> Void) -> Delivery {
    guard backlogs.isEmpty || backlogs[client] == nil else { return .hold }
    do {
      try send()
      return .sent
    } catch let error as ZMQError where error.isWouldBlock {
      return .hold  // the client's queue is full; a ROUTER refuses at the identity frame
    } catch {
      statistics.undeliverable += 1
      logger.debug("reply undeliverable", metadata: ["request": "\(requestID)", "error": "\(error)"])
      return .failed
    }
  }

  /// Whether the bytes held for `client` come to its budget, so new requests are refused:
  /// its backlog, ZeroMQ's queue to it (full, since it has a backlog: estimated as that
  /// many of its largest reply), and what its requests in flight are expected to add.
  func isPastReplyBudget(_ client: PeerID) -> Bool {
    guard !backlogs.isEmpty, let backlog = backlogs[client] else { return false }
    let queued = configuration.clientHighWaterMark * backlog.largestReply
    let expected = queued + backlog.bytes + clientBudgets[client, default: 0] * backlog.largestReply
    return expected >= configuration.maxHeldReplyBytesPerClient
  }

  /// Keeps `reply` for `client` until its queue has room; sent after what it already holds.
  func hold(_ reply: Frames, for client: PeerID) {
    let backlog: ReplyBacklog
    if let existing = backlogs[client] {
      backlog = existing
    } else {
      backlog = ReplyBacklog()
      backlogs[client] = backlog
    }
    backlog.append(reply)
    statistics.repliesHeld += 1
  }

  /// Sends what clients' queues have room for now; forgets clients that left.
  func flushBacklogs() {
    for (client, backlog) in backlogs {
      switch backlog.flush(to: frontend) {
      case .sentAll: backlogs[client] = nil
      case .blocked: break
      case .clientGone(let dropped):
        statistics.undeliverable += UInt64(dropped)
        backlogs[client] = nil
      }
    }
  }

  /// Bytes held for clients with no room, overhead included.
  var heldReplyBytes: Int { backlogs.values.reduce(0) { $0 + $1.bytes } }

  /// Sends a worker a command: HEARTBEAT, CANCEL of `dispatchID`, DISCONNECT with a
  /// reason, or CREDIT confirming `limit`.
  func sendToWorker(
    _ worker: PeerID, command: WorkerCommand, dispatchID: UInt64? = nil, reason: String? = nil, limit: Int? = nil,
    at now: UInt64
  ) {
    let extra = reason.map { Array($0.utf8) } ?? limit.map { CreditLimit.encode(UInt32(clamping: $0)) }
    do {
      try worker.withUnsafeBytes { try backend.send(bytes: $0, more: true, wait: false) }
      let envelope = WorkerEnvelope(command, dispatchID: dispatchID ?? 0)
      try envelope.withUnsafeBytes { try backend.send(bytes: $0, more: extra != nil) }
      if let extra { try backend.send(extra, more: false) }
      routing.sent(to: worker, at: now)
    } catch {
      if error.isHostUnreachable, let entry = routing.removeWorker(worker) {
        workerLost(entry, reason: "unreachable", at: now)
      } else {
        // The worker's queue is at its bound (a peer that does not read): the command is
        // dropped, not queued without end. Requests never get here (capacity < bound).
        statistics.workerMessagesDropped += 1
      }
    }
  }

  /// Counts a malformed message and logs its kind if that kind's line is due.
  func noteMalformed(_ kind: MalformedInputLog.Kind, at now: UInt64, _ example: @autoclosure () -> String) {
    guard let count = malformed.count(kind, at: now) else { return }
    logger.warning("malformed input", metadata: ["kind": "\(kind.name)", "since last logged": "\(count)", "example": "\(example())"])
  }
}

extension Error {
  fileprivate var isHostUnreachable: Bool { (self as? ZMQError)?.isHostUnreachable == true }
}
