import CZeroMQ
import Foundation
import Testing

@testable import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// The poller sleeps on the sockets' descriptors (ZMQ_FD) and skips asking a socket that
/// last found nothing; these check it still never misses a message.
@Suite struct PollerTests {
  private func pair(_ context: Context, _ name: String) throws -> (router: Socket, dealer: Socket) {
    let router = try Socket.router(context, binding: "inproc://\(name)")
    return (router, try Socket.dealer(context, connecting: ["inproc://\(name)"]))
  }

  /// How long `poller` waited (up to 5 s) until item `index`, and only it, was readable;
  /// 5 s, failing the test, if it never was.
  private func waitsFor(_ index: Int, of poller: inout Poller) throws -> Duration {
    let started = ContinuousClock.now
    let ready = try poller.wait(timeoutMilliseconds: 5_000)
    let readable = poller.isReadable(index)
    #expect(ready == 1 && readable)
    return ready == 1 && readable ? ContinuousClock.now - started : .seconds(5)
  }

  @Test func sleepsUntilAMessageComesAndReportsIt() throws {
    let context = try Context()
    let router = try Socket.router(context, binding: "inproc://sleeps")
    var poller = Poller()
    let index = try poller.add(router)
    let frames = Frames()
    #expect(try !router.receive(into: frames, wait: false))
    #expect(router.foundEmpty)
    let early = try poller.wait(timeoutMilliseconds: 50)
    #expect(early == 0)

    // The sender's socket is its thread's own, as ZeroMQ wants.
    let sender = Thread {
      Thread.sleep(forTimeInterval: 0.05)
      let dealer = try? Socket.dealer(context, connecting: ["inproc://sleeps"])
      try? dealer?.send(Array("late".utf8), more: false)
      Thread.sleep(forTimeInterval: 0.5)
    }
    sender.start()
    #expect(try waitsFor(index, of: &poller) < .seconds(2))
    #expect(try router.receive(into: frames, wait: false))
    #expect(frames.count == 2 && Array(frames[1]) == Array("late".utf8))
  }

  /// An operation other than a receive can take in the signal of a message that came
  /// (here `bind`, which processes the socket's pending commands): the socket's descriptor
  /// then stays quiet with the message queued. The poller asks such a socket first.
  @Test func findsAMessageWhoseSignalAnotherOperationTookIn() throws {
    let context = try Context()
    let (router, dealer) = try pair(context, "taken")
    let frames = Frames()
    #expect(try !router.receive(into: frames, wait: false))
    try dealer.send(Array("queued".utf8), more: false)
    try router.bind("inproc://taken-2")
    #expect(!router.foundEmpty)

    // The trap: the descriptor alone says nothing is there.
    var descriptor = pollfd(fd: try router.intOption(ZMQ_FD), events: Int16(POLLIN), revents: 0)
    #expect(poll(&descriptor, 1, 100) == 0)

    var poller = Poller()
    let index = try poller.add(router)
    #expect(try waitsFor(index, of: &poller) < .seconds(1))
    #expect(try router.receive(into: frames, wait: false))
    #expect(Array(frames[1]) == Array("queued".utf8))
  }

  /// A socket that stays readable (not drained) does not hide a descriptor that became
  /// readable too.
  @Test func aBusySocketDoesNotHideADescriptor() throws {
    let context = try Context()
    let (router, dealer) = try pair(context, "busy")
    let signal = try WakeSignal()
    var poller = Poller()
    let socketIndex = try poller.add(router)
    let signalIndex = poller.add(fileDescriptor: signal.fileDescriptor)
    for _ in 0..<3 { try dealer.send(Array("x".utf8), more: false) }
    let first = try poller.wait(timeoutMilliseconds: 1_000)
    #expect(first == 1)
    let frames = Frames()
    #expect(try router.receive(into: frames, wait: false))  // one of three: still busy
    signal.signal()
    let second = try poller.wait(timeoutMilliseconds: 1_000)
    let both = poller.isReadable(socketIndex) && poller.isReadable(signalIndex)
    #expect(second == 2 && both)
  }

  /// A disabled item is neither asked nor polled; enabled again, its message is reported.
  @Test func aDisabledSocketIsSkippedUntilEnabled() throws {
    let context = try Context()
    let (router, dealer) = try pair(context, "disabled")
    var poller = Poller()
    let index = try poller.add(router)
    poller.setEnabled(index, false)
    try dealer.send(Array("held".utf8), more: false)
    let whileDisabled = try poller.wait(timeoutMilliseconds: 50)
    let reportedWhileDisabled = poller.isReadable(index)
    #expect(whileDisabled == 0 && !reportedWhileDisabled)
    poller.setEnabled(index, true)
    let enabled = try poller.wait(timeoutMilliseconds: 1_000)
    let readable = poller.isReadable(index)
    #expect(enabled == 1 && readable)
  }
}
