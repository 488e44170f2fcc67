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
    request.figures?.timers?.record(total: total, gatewayQueue: request.queuedMicroseconds)
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
    let delivery = ClientDelivery(
      client: PeerID(budgetKeyOf: identity[index]), requestID: header.requestID, kind: isRefusal ? .refusal : .reply)
    queueToClient(delivery, identity: identity, index: index, keep: keep, header: encoded) { frames in
      if let body { frames.append(body) }
    }
  }

  // MARK: Replies a client has no room for

  /// Whether the bytes held for `client` come to its budget, so new requests are refused:
  /// its backlog, ZeroMQ's queue to it (full, since it has a backlog: estimated as that
  /// many of its largest reply), and what its requests in flight are expected to add.
  func isPastReplyBudget(_ client: PeerID) -> Bool {
    guard !backlogs.isEmpty, let backlog = backlogs[client] else { return false }
    let queued = configuration.clientHighWaterMark * backlog.largestReply
    let expected = queued + backlog.bytes + (clients[client]?.inFlight ?? 0) * backlog.largestReply
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
    queueToWorker(WorkerDelivery(worker: worker, kind: .command), envelope: WorkerEnvelope(command, dispatchID: dispatchID ?? 0)) { frames in
      if let extra { frames.append(extra) }
    }
    routing.sent(to: worker, at: now)
  }

  /// Counts a malformed message and logs its kind if that kind's line is due.
  func noteMalformed(_ kind: MalformedInputLog.Kind, at now: UInt64, _ example: @autoclosure () -> String) {
    guard let count = malformed.count(kind, at: now) else { return }
    logger.warning("malformed input", metadata: ["kind": "\(kind.name)", "since last logged": "\(count)", "example": "\(example())"])
  }
}
