import SwiftProtobuf
import Logging
import WeftProtocol
import ZeroMQ

/// Replies the gateway writes itself: errors, and commands to workers.
extension GatewayLoop {
  /// Answers the message in `received` (its identity in frame 0) with an error.
  func rejectReceived(_ requestID: UInt64, _ code: StatusCode, _ message: String) {
    var header = ResponseHeader()
    header.requestID = requestID
    header.status = code.wireValue
    header.message = message
    header.endOfStream = true
    sendToClient(identity: received, index: 0, keep: false, header: header)
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

  /// Sends a header-only reply to the client whose identity is frame `index` of `identity`.
  func sendToClient(identity: Frames, index: Int, keep: Bool, header: ResponseHeader, body: [UInt8]? = nil) {
    statistics.replies[Int(StatusCode(wireValue: header.status).rawValue)] += 1
    do {
      let encoded: [UInt8] = try header.serializedBytes()
      try frontend.send(identity, at: index, more: true, wait: false, keep: keep)
      try frontend.send(Signature.client, more: true)
      try frontend.send(encoded, more: body != nil)
      if let body { try frontend.send(body, more: false) }
    } catch {
      statistics.undeliverable += 1
    }
  }

  /// Sends a worker a command: HEARTBEAT, CANCEL of `dispatchID`, or DISCONNECT with a reason.
  func sendToWorker(
    _ worker: PeerID, command: WorkerCommand, dispatchID: UInt64? = nil, reason: String? = nil, at now: UInt64
  ) {
    do {
      try worker.withUnsafeBytes { try backend.send(bytes: $0, more: true, wait: false) }
      let envelope = WorkerEnvelope(command, dispatchID: dispatchID ?? 0)
      try envelope.withUnsafeBytes { try backend.send(bytes: $0, more: reason != nil) }
      if let reason { try backend.send(Array(reason.utf8), more: false) }
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
