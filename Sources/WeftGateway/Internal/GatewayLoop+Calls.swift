import SwiftProtobuf
import WeftProtocol
import ZeroMQ

/// Calls that stay open (client-streaming and bidirectional methods): the client's
/// MESSAGE, HALF_CLOSE and CREDIT frames, the worker's grants, keep-alives.
///
/// A call is pinned to the worker that took its OPEN; the gateway passes frames both
/// ways without reading bodies and holds the client to the window its worker granted.
extension GatewayLoop {
  /// Handles a client's MESSAGE, HALF_CLOSE or CREDIT (`received` = [identity,
  /// signature, header, body…]) for its open call `header.requestID`.
  func continueCall(_ header: RoutingFields, at now: UInt64) {
    let requestID = header.requestID
    guard let frame = CallFrame(rawValue: header.callFrame) else {
      noteMalformed(.clientHeader, at: now, "call frame \(header.callFrame)")
      return rejectReceived(requestID, .invalidArgument, "header.frame \(header.callFrame) is not a call frame this gateway knows")
    }
    let client = PeerID(budgetKeyOf: received[0])
    guard let id = clients[client]?.calls[requestID], let request = inFlight[id], request.isActive,
      let call = request.call
    else {
      // A CREDIT may cross the call's final on the way; a message may not go unanswered.
      if frame == .credit { return }
      return rejectReceived(requestID, .notFound, "no open call with request id \(requestID) (it ended, or never opened as a streaming call)")
    }
    switch frame {
    case .message:
      let bytes = received.totalSize(3..<received.count)
      if call.halfClosed {
        return endCall(id, request, .invalidArgument, "a message came after the client's half-close", at: now)
      }
      if bytes > configuration.maxRequestBytes {
        return endCall(
          id, request, .resourceExhausted, "a message of \(bytes) bytes; this gateway accepts at most \(configuration.maxRequestBytes)", at: now)
      }
      guard call.messagesAllowed > 0 else {
        return endCall(
          id, request, .resourceExhausted,
          "the client sent more messages than its worker granted (flow control: wait for the response header's credit)", at: now)
      }
      call.messagesAllowed -= 1
      if let worker = request.worker {
        sendToWorker(worker, .message, id: id, body: received, 3..<received.count, at: now)
      } else {
        let message = Frames(capacity: max(1, received.count - 3))
        message.append(moving: received, range: 3..<received.count)
        call.waitingMessages.append(message)
      }
    case .halfClose:
      guard !call.halfClosed else { return }
      call.halfClosed = true
      if let worker = request.worker { sendToWorker(worker, command: .halfClose, dispatchID: id, at: now) }
    case .credit:
      if let worker = request.worker {
        sendToWorker(worker, command: .callCredit, dispatchID: id, limit: Int(header.credit), at: now)
      } else {
        call.waitingCredit = call.waitingCredit &+ header.credit
      }
    case .open, .UNRECOGNIZED:
      break
    }
  }

  /// Sends a call's worker what came before it had one: messages, the half-close, credit.
  func sendWaiting(_ call: OpenCall, id: UInt64, to worker: PeerID, at now: UInt64) {
    for message in call.waitingMessages { sendToWorker(worker, .message, id: id, body: message, 0..<message.count, at: now) }
    call.waitingMessages.removeAll()
    if call.halfClosed { sendToWorker(worker, command: .halfClose, dispatchID: id, at: now) }
    if call.waitingCredit > 0 {
      sendToWorker(worker, command: .callCredit, dispatchID: id, limit: Int(call.waitingCredit), at: now)
      call.waitingCredit = 0
    }
  }

  /// The worker granted `count` more messages on call `id`: passed on to its client.
  func grantMessages(_ count: Int, to id: UInt64, from worker: PeerID, at now: UInt64) {
    guard let request = inFlight[id], request.worker == worker, request.isActive, let call = request.call else { return }
    call.messagesAllowed += count
    sendFlowControl(id, request, call, credit: UInt32(clamping: count), at: now)
  }

  /// Sends a keep-alive on open calls the client has heard nothing on for an interval:
  /// a client that is gone is found when it fails (ROUTER_MANDATORY), and its call ends.
  func keepCallsAlive(at now: UInt64) {
    guard openCallCount > 0 else { return }
    let interval = configuration.heartbeatInterval.microseconds
    for id in inFlight.ids(where: { $0.call != nil && $0.isActive }) {
      guard let request = inFlight[id], let call = request.call, now &- call.lastSentToClient >= interval else { continue }
      sendFlowControl(id, request, call, credit: 0, at: now)
    }
  }

  /// A response header with only `credit` (0: a keep-alive) to call `id`'s client; a
  /// client found gone ends the call and frees its worker's session.
  private func sendFlowControl(_ id: UInt64, _ request: InFlightRequest, _ call: OpenCall, credit: UInt32, at now: UInt64) {
    var header = ResponseHeader()
    header.requestID = request.requestID
    header.credit = credit
    header.flowControl = true
    guard let encoded: [UInt8] = try? header.serializedBytes() else { return }
    let client = request.clientKey
    call.lastSentToClient = now
    let delivery = ClientDelivery(client: client, requestID: request.requestID, kind: .flowControl(dispatchID: id))
    queueToClient(delivery, identity: request.frames, index: 0, keep: true, header: encoded)
  }

  /// Ends an open call early: its client (if still there) gets `code`, its worker CANCEL.
  func endCall(_ id: UInt64, _ request: InFlightRequest, _ code: StatusCode, _ message: String, at now: UInt64) {
    endEarly(id, request, code, queued: message, running: message, at: now)
  }

  /// Sends `worker` a MESSAGE for call `id` with `body`'s frames in `range` (moved). A
  /// worker that refuses it is gone, and its loss ends the call; its queue at its bound
  /// cannot be met: a call's messages are within its window, and capacity keeps windows few.
  private func sendToWorker(_ worker: PeerID, _ command: WorkerCommand, id: UInt64, body: Frames, _ range: Range<Int>, at now: UInt64) {
    queueToWorker(WorkerDelivery(worker: worker, kind: .command), envelope: WorkerEnvelope(command, dispatchID: id)) { frames in
      frames.append(moving: body, range: range)
    }
    routing.sent(to: worker, at: now)
  }
}
