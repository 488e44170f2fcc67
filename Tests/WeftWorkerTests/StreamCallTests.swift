import Foundation
import SwiftProtobuf
import Testing
import WeftModels
import WeftProtocol

@testable import WeftWorker

/// A call that stays open, driven step by step as the socket and compute threads drive it.
@Suite struct StreamCallTests {
  private func openCall(credit: Int) throws -> (StreamCall, CompletionQueue) {
    let queue = try CompletionQueue()
    let request = InferenceRequest(method: "chat", header: RequestHeader(), body: [], deadline: .now + .seconds(60))
    let ticket = ReplyTicket(link: 0, generation: 0, registration: 0, dispatchID: 9, requestID: 0, receivedAt: 0, inlineHeaders: false)
    let opening = Job(ticket, request: request)
    return (StreamCall(opening: opening, responseCredit: credit, completionQueue: queue), queue)
  }

  /// Ended calls' finals, from what the call posted.
  private func finals(_ queue: CompletionQueue) -> [Completion] { queue.take().filter(\.isFinal) }

  /// A step that uses exactly the client's room sends everything and holds nothing; the
  /// next message then waits for room with no response held. That wait is a stall as
  /// well (it used to be missed, and the call hung until its deadline).
  @Test func messagesWaitingForRoomWithNothingHeldStall() throws {
    let (call, queue) = try openCall(credit: 2)
    #expect(call.add(message: [Data([1])], limit: 16))
    #expect(!call.add(message: [Data([2])], limit: 16), "a step is already scheduled")
    #expect(call.beginStep().messages.count == 2)
    let echoes = StreamOutput(responses: [.ok([Data([1])]), .ok([Data([2])])])
    #expect(!call.endStep(echoes, took: 2, timing: .init()), "no room for another step's output")
    #expect(!call.add(message: [Data([3])], limit: 16))
    _ = queue.take()
    // Not stalled for long enough yet.
    call.endIfStalled(blockedSince: 1, limitSeconds: 1)
    #expect(finals(queue).isEmpty)
    call.endIfStalled(blockedSince: MonotonicClock.now() + 1, limitSeconds: 1)
    let final = try #require(finals(queue).first)
    #expect(final.header.status == .resourceExhausted)
    #expect(final.header.message.contains("read no response"), "\(final.header.message)")
  }

  /// Room granted starts the wait again; a call with room and nothing to do never stalls.
  @Test func roomResetsTheWaitAndAnIdleCallNeverStalls() throws {
    let (call, queue) = try openCall(credit: 1)
    #expect(call.add(message: [Data([1])], limit: 16))
    _ = call.beginStep()
    #expect(!call.endStep(StreamOutput(responses: [.ok([Data([1])]), .ok([Data([2])])]), took: 1, timing: .init()))
    let before = MonotonicClock.now()
    #expect(!call.grant(1), "the held response goes; nothing else to do")
    _ = queue.take()
    call.endIfStalled(blockedSince: before, limitSeconds: 1)
    call.endIfStalled(blockedSince: MonotonicClock.now() + 1, limitSeconds: 1)
    #expect(finals(queue).isEmpty, "with room and no work the call only waits for the client")
  }
}
