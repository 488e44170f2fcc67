import Foundation
import WeftModels
import WeftProtocol

/// A request the worker holds, from REQUEST until its FINAL is sent. Immutable, and a
/// class so handing it between the socket and compute threads copies nothing.
final class Job: Sendable {
  /// Where its replies go.
  let ticket: ReplyTicket
  let request: InferenceRequest
  /// For a step of a call that stays open: the call (the job is a step, not a request).
  let call: StreamCall?

  init(_ ticket: ReplyTicket, request: InferenceRequest, call: StreamCall? = nil) {
    self.ticket = ticket
    self.request = request
    self.call = call
  }

  /// A job for the next step of `call`, timed from `now`.
  static func step(of call: StreamCall, at now: UInt64) -> Job {
    var ticket = call.opening.ticket
    ticket.receivedAt = now
    return Job(ticket, request: call.opening.request, call: call)
  }
}

/// What the worker keeps of a request to answer it: where its replies go, the client's
/// request id, and when it came (replies are timed from there).
struct ReplyTicket: Sendable {
  /// Which gateway link it came on, and that link's connection generation: a reply for
  /// an older connection is dropped, since the gateway already gave the request away.
  let link: Int
  let generation: UInt64
  /// The link's registration it came in (``GatewayLink/registration``).
  let registration: UInt64
  let dispatchID: UInt64
  let requestID: UInt64
  /// When the worker received it (monotonic microseconds); for a step of an open call,
  /// when the step was scheduled.
  var receivedAt: UInt64
  /// The REQUEST came with its header in the envelope's frame, so its gateway reads
  /// replies laid out so too (``WorkerEnvelope/inlineHeaderVersion``).
  let inlineHeaders: Bool
}

/// A response ready to send back, produced off the socket thread.
struct Completion: Sendable {
  /// The request it answers.
  let ticket: ReplyTicket
  let isFinal: Bool
  /// What its ResponseHeader says; the socket thread writes it as it sends the reply.
  let header: ReplyHeader
  let body: [Data]
  /// Answers a job the worker counted as pending (false for a request it could not read).
  var fromJob = true
  /// Not a response: CALL_CREDIT granting the client this many more messages on the call.
  var callCredit: UInt32?
}

extension Completion {
  /// The completion of `job` with `response`.
  init(job: Job, response: InferenceResponse, isFinal: Bool, timing: Timing) {
    self.init(ticket: job.ticket, response: response, isFinal: isFinal, timing: timing)
  }

  /// The completion of the request `ticket` stands for, with `response`.
  init(ticket: ReplyTicket, response: InferenceResponse, isFinal: Bool, timing: Timing) {
    self.init(
      ticket: ticket, isFinal: isFinal, header: ReplyHeader(requestID: ticket.requestID, response: response, timing: timing),
      body: response.body)
  }

  /// A CALL_CREDIT for `call`'s client: `count` more messages.
  init(callCreditFor call: Job, count: UInt32) {
    self.init(ticket: call.ticket, isFinal: false, header: ReplyHeader(), body: [], fromJob: false, callCredit: count)
  }

  /// How long a request waited and ran, and with how many others.
  struct Timing: Sendable {
    var queueMicroseconds: UInt64 = 0
    var computeMicroseconds: UInt64 = 0
    var batchSize = 1
  }
}

extension Completion.Timing {
  /// The timing of `ticket`'s request in a batch of `batchSize` the model ran from
  /// `startedAt` to `finishedAt` (monotonic microseconds).
  init(of ticket: ReplyTicket, startedAt: UInt64, finishedAt: UInt64, batchSize: Int) {
    self.init(
      queueMicroseconds: startedAt &- ticket.receivedAt, computeMicroseconds: finishedAt &- startedAt, batchSize: batchSize)
  }
}
