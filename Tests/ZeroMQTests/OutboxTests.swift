import Testing

@testable import ZeroMQ

@Suite struct OutboxTests {
  /// Messages come out whole, in order, with their tags; one appended by a handler
  /// during the flush comes out in the same flush; the outbox is empty after.
  @Test func flushHandsOutEachMessageInOrderIncludingOnesAddedDuringTheFlush() {
    let outbox = Outbox<String>()
    outbox.frames.append([1])
    outbox.frames.append([2, 2])
    outbox.endMessage("first")
    outbox.frames.append([3])
    outbox.endMessage("second")
    #expect(outbox.count == 2)
    var seen: [(String, [[UInt8]])] = []
    outbox.flush { tag, range in
      seen.append((tag, range.map { outbox.frames.bytes(at: $0) }))
      if tag == "first" {
        outbox.frames.append([4])
        outbox.endMessage("added")
      }
    }
    #expect(seen.map(\.0) == ["first", "second", "added"])
    #expect(seen.map(\.1) == [[[1], [2, 2]], [[3]], [[4]]])
    #expect(outbox.isEmpty && outbox.frames.count == 0)
  }

  /// A message sent through a socket arrives whole; one its handler keeps (moved out,
  /// as the gateway holds a refused reply) keeps its bytes.
  @Test func framesMovedOutDuringAFlushKeepTheirBytes() throws {
    let context = try Context()
    let pull = try Socket(context: context, type: .pair)
    try pull.bind("inproc://outbox")
    let push = try Socket(context: context, type: .pair)
    try push.connect("inproc://outbox")
    let outbox = Outbox<Bool>()
    let kept = Frames()
    outbox.frames.append([UInt8](repeating: 9, count: 100_000))
    outbox.endMessage(true)
    outbox.frames.append([5])
    outbox.endMessage(false)
    outbox.flush { send, range in
      if send { try? push.send(outbox.frames, range: range) } else { kept.append(moving: outbox.frames, range: range) }
    }
    let received = Frames()
    try pull.receive(into: received)
    #expect(received.count == 1 && received.size(at: 0) == 100_000)
    #expect(kept.count == 1 && kept.bytes(at: 0) == [5])
  }

  /// A frame moved back into place (a refused request getting its body back).
  @Test func replaceMovesAFrameIntoAnExistingSlot() {
    let request = Frames()
    request.append([1])
    request.append([2])
    let outbox = Frames()
    outbox.append(moving: request, at: 1)
    #expect(request.size(at: 1) == 0)
    request.replace(1, moving: outbox, at: 0)
    #expect(request.bytes(at: 1) == [2] && outbox.size(at: 0) == 0)
  }
}
