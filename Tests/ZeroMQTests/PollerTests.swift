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

    // The sender connects first and sends only when told: the connection's own signal,
    // taken in by the receive below, must not be the wake-up this test waits for. Its
    // socket is its thread's own, as ZeroMQ wants.
    let (connected, send) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
    let sender = Thread {
      let dealer = try? Socket.dealer(context, connecting: ["inproc://sleeps"])
      connected.signal()
      _ = send.wait(timeout: .now() + 5)
      Thread.sleep(forTimeInterval: 0.05)
      try? dealer?.send(Array("late".utf8), more: false)
      Thread.sleep(forTimeInterval: 0.5)
    }
    sender.start()
    #expect(connected.wait(timeout: .now() + 5) == .success)
    #expect(try !router.receive(into: frames, wait: false))
    #expect(router.foundEmpty)
    let early = try poller.wait(timeoutMilliseconds: 50)
    #expect(early == 0)
    send.signal()
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

  // MARK: Polling before sleeping

  /// How many times the calling thread has slept (voluntary context switches; a yield
  /// that lets another thread run is not one).
  /// Read with `getrusage`, a system call that takes no lock: reading
  /// /proc/thread-self/status could itself sleep on one while other tests map memory.
  private func sleepsSoFar() -> Int {
    var usage = rusage()
    // RUSAGE_THREAD (1), which Glibc's Swift module leaves out.
    #expect(getrusage(__rusage_who_t(1), &usage) == 0)
    return usage.ru_nvcsw
  }

  /// Waits (up to 5 s, spinning up to 4 s) for a signal sent 20 ms later from another
  /// thread; returns whether it was reported and how often this thread slept meanwhile.
  private func waitForLateSignal(spinMicroseconds: Int) throws -> (reported: Bool, sleeps: Int) {
    let signal = try WakeSignal()
    var poller = Poller()
    let index = poller.add(fileDescriptor: signal.fileDescriptor)
    // Started before the count is read: starting a thread may itself sleep.
    let go = DispatchSemaphore(value: 0)
    let sender = Thread {
      _ = go.wait(timeout: .now() + 5)
      Thread.sleep(forTimeInterval: 0.02)
      signal.signal()
    }
    sender.start()
    let before = sleepsSoFar()
    go.signal()
    let ready = try poller.wait(timeoutMilliseconds: 5_000, spinMicroseconds: spinMicroseconds)
    return (ready == 1 && poller.isReadable(index), sleepsSoFar() - before)
  }

  /// A message that comes while the poller spins is found without the thread sleeping;
  /// the same wait without spinning sleeps until it comes.
  @Test func spinningFindsAMessageWithoutSleeping() throws {
    let spinning = try waitForLateSignal(spinMicroseconds: 4_000_000)
    #expect(spinning.reported && spinning.sleeps == 0)
    let sleeping = try waitForLateSignal(spinMicroseconds: 0)
    #expect(sleeping.reported && sleeping.sleeps >= 1)
  }

  /// With nothing coming, the spin is part of the timeout: the wait ends when it passes,
  /// not a spin later, and sleeps for what the spin left of it.
  @Test func aSpinCountsAgainstTheTimeout() throws {
    var poller = Poller()
    let signal = try WakeSignal()
    _ = poller.add(fileDescriptor: signal.fileDescriptor)
    let started = ContinuousClock.now
    let before = sleepsSoFar()
    let ready = try poller.wait(timeoutMilliseconds: 100, spinMicroseconds: 20_000)
    let (elapsed, sleeps) = (ContinuousClock.now - started, sleepsSoFar() - before)
    #expect(ready == 0 && sleeps >= 1)
    #expect(elapsed >= .milliseconds(95) && elapsed < .milliseconds(1_000))

    let short = ContinuousClock.now
    let none = try poller.wait(timeoutMilliseconds: 10, spinMicroseconds: 5_000_000)
    #expect(none == 0 && ContinuousClock.now - short < .milliseconds(1_000))
  }
}
