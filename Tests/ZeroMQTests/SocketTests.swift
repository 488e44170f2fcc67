import Foundation
import Testing

@testable import ZeroMQ

@Suite struct SocketTests {
  /// What a closed socket still held is written before `terminate()` returns (a process
  /// that exits instead loses it with libzmq's I/O thread); terminating again, and the
  /// context's deinit after it, return at once.
  @Test func terminateReturnsOnceClosedSocketsSentWhatTheyHeld() throws {
    let receiving = try Context()
    let pull = try Socket(context: receiving, type: .pull)
    try pull.bind("tcp://127.0.0.1:*")
    let sending = try Context()
    let push = try Socket(context: sending, type: .push)
    try push.connect(try pull.lastEndpoint())
    // Few enough to fit the receiver's queue (1,000 messages) and the kernel's buffers while
    // nothing reads: the receiving side reads only after `terminate()` returns.
    let count = 500
    for index in 0..<count { try push.send([UInt8](repeating: UInt8(index & 0xff), count: 1_024), more: false) }
    push.linger = 5_000
    push.close()
    sending.terminate()
    let second = ContinuousClock.now
    sending.terminate()
    #expect(ContinuousClock.now - second < .milliseconds(50))
    // Every message is on the receiving side now; none may be missing.
    var poller = Poller()
    let index = try poller.add(pull)
    let frames = Frames()
    var received = 0
    while received < count {
      try poller.wait(timeoutMilliseconds: 2_000)
      guard poller.isReadable(index) else { break }
      while try pull.receive(into: frames, wait: false) { received += 1 }
    }
    #expect(received == count)
  }

  @Test func routerDealerRoundTripOverTCPOnAnyPort() throws {
    let context = try Context()
    let router = try Socket.router(context, binding: "tcp://127.0.0.1:*")
    let endpoint = try router.lastEndpoint()
    #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
    #expect(!endpoint.hasSuffix(":*"))

    let dealer = try Socket.dealer(context, connecting: [endpoint])
    try dealer.send(Array("hello".utf8), more: true)
    try dealer.send(Array(repeating: 7, count: 100_000), more: false)

    let frames = Frames()
    try router.receive(into: frames)
    #expect(frames.count == 3)  // identity, then the two frames
    #expect(frames.bytes(at: 1) == Array("hello".utf8))
    #expect(frames.size(at: 2) == 100_000)

    // Echo back by moving the frames, identity first.
    try router.send(frames)
    #expect(frames.count == 0)
    let reply = Frames()
    try dealer.receive(into: reply)
    #expect(reply.count == 2)
    #expect(reply.bytes(at: 0) == Array("hello".utf8))
    #expect(reply[1].allSatisfy { $0 == 7 })
  }

  @Test func nonBlockingReceiveReportsNothingQueued() throws {
    let context = try Context()
    let pull = try Socket(context: context, type: .pair)
    try pull.bind("inproc://empty")
    let frames = Frames()
    #expect(try pull.receive(into: frames, wait: false) == false)
    #expect(frames.isEmpty)
  }

  @Test func framesPastTheLimitAreDiscardedAndFlagged() throws {
    let context = try Context()
    let a = try Socket(context: context, type: .pair)
    try a.bind("inproc://limit")
    let b = try Socket(context: context, type: .pair)
    try b.connect("inproc://limit")
    for index in 0..<10 { try b.send([UInt8(index)], more: index < 9) }
    let frames = Frames(capacity: 2)
    try a.receive(into: frames, maxFrames: 4)
    #expect(frames.count == 4)
    #expect(frames.overflowed)
    #expect(frames.bytes(at: 3) == [3])
    // The next message is received whole: the overflow did not leak into it.
    try b.send([42], more: false)
    try a.receive(into: frames, maxFrames: 4)
    #expect(frames.count == 1 && !frames.overflowed)
    #expect(frames.bytes(at: 0) == [42])
  }

  @Test func copiedFramesShareContentAndSurviveTheOriginal() throws {
    let source = Frames(capacity: 1)
    source.append(Array(repeating: 9, count: 4096))
    source.append(Array("small".utf8))  // forces growth past capacity 1
    let copy = Frames()
    copy.append(copiesOf: source, range: 0..<2)
    source.removeAll()
    #expect(copy.count == 2)
    #expect(copy.size(at: 0) == 4096)
    #expect(copy.frame(1, equals: Array("small".utf8)))
  }

  @Test func routerMandatoryReportsUnknownPeer() throws {
    let context = try Context()
    let router = try Socket.router(context, binding: "inproc://mandatory")
    try router.setRouterMandatory(true)
    #expect {
      try router.send(Array("nobody".utf8), more: true)
    } throws: { error in
      (error as? ZMQError)?.isHostUnreachable == true
    }
  }

  @Test func bindErrorCarriesErrnoText() throws {
    let context = try Context()
    let socket = try Socket(context: context, type: .router)
    #expect {
      try socket.bind("tcp://not-an-address:xyz")
    } throws: { error in
      guard let error = error as? ZMQError else { return false }
      return error.description.contains("bind(tcp://not-an-address:xyz)") && !error.message.isEmpty
    }
  }

  @Test func pollerWakesOnSignalFromAnotherThread() throws {
    let signal = try WakeSignal()
    var poller = Poller()
    let index = poller.add(fileDescriptor: signal.fileDescriptor)
    let before = try poller.wait(timeoutMilliseconds: 0)
    #expect(before == 0)
    let thread = Thread { signal.signal() }
    thread.start()
    let woken = try poller.wait(timeoutMilliseconds: 5_000)
    let readable = poller.isReadable(index)
    #expect(woken == 1 && readable)
    signal.drain()
    let after = try poller.wait(timeoutMilliseconds: 0)
    #expect(after == 0)
  }
}
