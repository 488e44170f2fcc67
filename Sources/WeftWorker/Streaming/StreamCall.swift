import Foundation
import Synchronization
import WeftModels
import WeftProtocol

/// A call that stays open (a client-streaming or bidirectional method), from its REQUEST
/// to its FINAL: the client's messages its stream has not taken yet, how many responses
/// the client has room for, what waits for that room, and whether a step is queued or
/// running.
///
/// The socket thread adds messages, credit, the half-close and cancels; the compute
/// thread runs steps. A call has at most one step job in the batcher or running: a step
/// is scheduled only when there is something to do and room for its responses, so what
/// a call holds is bounded by one step's output plus the client's message window.
///
/// Both threads release the call's responses, so each posts them to the completionQueue while it
/// holds the call's lock: the completionQueue then has them in the order they were made.
final class StreamCall: Sendable {
  /// The REQUEST that opened the call: link, dispatch id, header, deadline.
  let opening: Job
  private let completionQueue: CompletionQueue
  private let state: Mutex<State>

  private struct State: ~Copyable {
    var stream: (any ModelStream)?
    var inbox: [[Data]] = []
    var halfClosed = false
    /// The half-close was handed to the stream.
    var endDelivered = false
    var cancelled: WeftError?
    var scheduled = false
    var finished = false
    /// Responses the client still has room for.
    var responseCredit: Int
    /// Responses (and possibly the final) waiting for room, oldest first.
    var held: [Completion] = []
    /// Since when the call has waited for the client to make room: responses held, or
    /// work whose step would have no room for its output. 0 while it does not wait.
    var blockedSince: UInt64 = 0
  }

  /// What one step works on.
  struct StepInput {
    var stream: (any ModelStream)?
    var messages: [[Data]]
    var ended: Bool
    var cancelled: WeftError?
  }

  init(opening: Job, responseCredit: Int, completionQueue: CompletionQueue) {
    self.opening = opening
    self.completionQueue = completionQueue
    state = Mutex(State(responseCredit: responseCredit))
    if !opening.request.body.isEmpty { state.withLock { $0.inbox.append(opening.request.body) } }
  }

  /// A new message; returns whether a step should be scheduled now. Past `limit`
  /// messages waiting (the client ignored its window), the call is cancelled instead.
  func add(message: [Data], limit: Int) -> Bool {
    state.withLock { state in
      guard !state.finished, state.cancelled == nil else { return false }
      guard !state.halfClosed else {
        state.cancelled = WeftError(.invalidArgument, "a message came after the half-close")
        return Self.claimStep(&state)
      }
      state.inbox.append(message)
      if state.inbox.count > limit {
        state.cancelled = WeftError(.resourceExhausted, "the client sent more than its window of \(limit) messages")
      }
      return Self.claimStep(&state)
    }
  }

  /// The client sends no more; returns whether a step should be scheduled now.
  func halfClose() -> Bool {
    state.withLock { state in
      state.halfClosed = true
      return Self.claimStep(&state)
    }
  }

  /// The client has room for `count` more responses: posts held ones it may have now;
  /// returns whether a step should be scheduled.
  func grant(_ count: Int) -> Bool {
    state.withLock { state in
      state.responseCredit += count
      completionQueue.post(Self.releaseHeld(&state))
      return Self.claimStep(&state)
    }
  }

  /// Ends the call with `error` (cancel, deadline, stall): posts its final when no step
  /// is running (else the running step's end does), nothing if it is over.
  func cancel(_ error: WeftError) {
    state.withLock { state in
      guard !state.finished else { return }
      if state.cancelled == nil { state.cancelled = error }
      guard !state.scheduled else { return }
      completionQueue.post(finishCancelled(&state))
    }
  }

  /// Ends the call if it has waited for the client to make room since before `oldest`
  /// (responses held, or messages its output would have no room for): its final
  /// RESOURCE_EXHAUSTED, sent past what waits.
  func endIfStalled(blockedSince oldest: UInt64, limitSeconds: Double) {
    let stalled = state.withLock { !$0.finished && $0.blockedSince != 0 && $0.blockedSince < oldest }
    guard stalled else { return }
    cancel(WeftError(.resourceExhausted, "the client read no response for \(limitSeconds) s while the call had more for it"))
  }

  // MARK: Steps (compute thread)

  /// Takes the step's work: the messages so far, the half-close if all are taken.
  func beginStep() -> StepInput {
    state.withLock { state in
      let messages = state.inbox
      state.inbox.removeAll()
      let ended = state.halfClosed && !state.endDelivered
      if ended { state.endDelivered = true }
      return StepInput(stream: state.stream, messages: messages, ended: ended, cancelled: state.cancelled)
    }
  }

  /// Records the stream opened by the step (the first step opens it).
  func opened(_ stream: any ModelStream) { state.withLock { $0.stream = stream } }

  /// Takes a step's output: posts what to send now (a CALL_CREDIT for the messages it
  /// took, responses the client has room for, the final once nothing is held before it);
  /// returns whether another step should be scheduled.
  func endStep(_ output: StreamOutput, took messages: Int, timing: Completion.Timing) -> Bool {
    state.withLock { state in
      state.scheduled = false
      var send: [Completion] = []
      if state.cancelled != nil {
        completionQueue.post(finishCancelled(&state))
        return false
      }
      if messages > 0 && output.final == nil {
        send.append(Completion(callCreditFor: opening, count: UInt32(messages)))
      }
      for response in output.responses {
        state.held.append(Completion(job: opening, response: response, isFinal: false, timing: timing))
      }
      var final = output.final
      if final == nil && state.endDelivered {
        final = .failure(WeftError(.internal, "the model's stream did not end after the client's half-close"))
      }
      if let final {
        state.finished = true
        state.held.append(Completion(job: opening, response: final, isFinal: true, timing: timing))
      }
      send += Self.releaseHeld(&state)
      completionQueue.post(send)
      return Self.claimStep(&state)
    }
  }

  // MARK: Rules

  /// Held completions the client has room for (the final needs none, but waits its turn).
  private static func releaseHeld(_ state: inout State) -> [Completion] {
    var release: [Completion] = []
    while let next = state.held.first, next.isFinal || state.responseCredit > 0 {
      if !next.isFinal { state.responseCredit -= 1 }
      release.append(state.held.removeFirst())
    }
    // The client made room: if the call still waits, its wait starts again now.
    if !release.isEmpty { state.blockedSince = 0 }
    return release
  }

  /// Notes whether the call now waits for the client to make room (``State/blockedSince``),
  /// then marks a step scheduled if one should run: there is work and room for its output,
  /// or the call was cancelled. Returns whether the caller must submit it. Every change to
  /// the call's work or room ends here, so the wait is kept in this one place.
  private static func claimStep(_ state: inout State) -> Bool {
    let work = !state.inbox.isEmpty || (state.halfClosed && !state.endDelivered)
    // Messages waiting while the client has no room count as stalled too, not only held
    // responses: a step that used the last of the room sends all it made, holds nothing,
    // and the next message then waits with nothing held (the call hung until its deadline).
    let blocked = !state.held.isEmpty || (work && state.responseCredit == 0)
    if !blocked {
      state.blockedSince = 0
    } else if state.blockedSince == 0 {
      state.blockedSince = MonotonicClock.now()
    }
    guard !state.scheduled, !state.finished else { return false }
    guard state.cancelled != nil || (work && !blocked) else { return false }
    state.scheduled = true
    return true
  }

  private func finishCancelled(_ state: inout State) -> [Completion] {
    state.finished = true
    state.held.removeAll()
    state.inbox.removeAll()
    let error = state.cancelled ?? WeftError(.cancelled, "cancelled")
    return [Completion(job: opening, response: .failure(error), isFinal: true, timing: .init())]
  }
}
