import CWeftKernels
import Dispatch
import Foundation
import Synchronization
import WeftProtocol

/// Threads that stay with the lanes between the phases of a forward pass.
///
/// A forward pass is a chain of short phases (a text layer has five, the vision model
/// some fifty), each split over the lanes and ended by a barrier. Handing each phase to
/// the system's thread pool wakes a sleeping thread every time, and on this machine a
/// wake-up takes 20–30 µs before the thread runs; the barrier then waits for it. Here
/// each side of the barrier busy-waits for the other for up to ``spinTime`` (as OpenMP
/// runtimes do) and only then sleeps, so back-to-back phases cost no wake-ups, and a
/// thread left waiting (a long serial step, a descheduled lane, the pass over) stops
/// taking a core.
///
/// A helper that gets only part of a core (another process busy on its CPU) holds back
/// every phase until the scheduler gives it a slice, with fixed shares and even with
/// claimed chunks (``ComputeLanes/forEachClaimedChunk(of:size:_:)``: the chunk it holds):
/// with one busy process on the other vCPU, a vision pass took 132 ms instead of 6 (9.7 on
/// one lane). When the caller has waited for the helpers longer than ``slowHelperWait``
/// (and longer than its own share took) at ``slowPhasesBeforeAlone`` barriers in a row, it
/// runs every lane's share itself for ``aloneTime``, then tries the helpers again.
final class LaneThreads: @unchecked Sendable {
  // @unchecked: `job` is written only by the caller holding `busy`, before it publishes
  // the phase (sequentially consistent) and read by the helpers after they see it; the
  // caller clears it only after every helper reported the phase done. `slowPhases` and
  // `aloneUntil` are read and written only by the caller holding `busy`.

  /// How long a waiting thread busy-waits before it sleeps.
  static let spinTime: Duration = .microseconds(50)

  /// The process's threads for `count` lanes; one set per count, shared by every model.
  static func shared(count: Int) -> LaneThreads {
    registry.withLock { threads in
      if let existing = threads[count] { return existing }
      let made = LaneThreads(helpers: count - 1)
      threads[count] = made
      return made
    }
  }
  private static let registry = Mutex<[Int: LaneThreads]>([:])

  private let helpers: Int
  private let phase = Atomic<Int>(0)
  private let finished = Atomic<Int>(0)
  private let busy = Atomic<Bool>(false)
  /// The CPU the caller ran on when it published the current phase.
  private let callerCPU = Atomic<Int>(-1)
  private let helperWaiters: [Waiter]
  private let callerWaiter = Waiter()
  private var job: (@Sendable (Int) -> Void)?

  /// A wait at the barrier past which (and past the caller's own share's time) the
  /// helpers count as slow: a normal phase's wait is tens of microseconds, a helper
  /// waiting for a slice behind another process milliseconds.
  static let slowHelperWait: Duration = .milliseconds(1)
  /// Slow barriers in a row after which the caller runs phases alone: one alone can be
  /// a hiccup of the machine.
  static let slowPhasesBeforeAlone = 2
  /// How long the caller then runs every lane's share itself before it tries the helpers
  /// again (a few passes; trying costs up to two slow barriers).
  static let aloneTime: Duration = .milliseconds(50)
  /// Whether the caller goes alone when the helpers are slow (always for models; off for
  /// tests of where the helpers run, which a phase on the caller would hide).
  private let leavesSlowHelpersOut: Bool
  private var slowPhases = 0
  private var aloneUntil: ContinuousClock.Instant?
  /// What ``counts`` reports.
  private let phasesWithHelpers = Atomic<Int>(0)
  private let phasesAlone = Atomic<Int>(0)
  private let phasesTurnedAway = Atomic<Int>(0)
  private let helperMoves = Atomic<Int>(0)

  /// How the phases ran so far.
  var counts: ComputeLanes.PhaseCounts {
    ComputeLanes.PhaseCounts(
      withHelpers: phasesWithHelpers.load(ordering: .relaxed), alone: phasesAlone.load(ordering: .relaxed),
      turnedAway: phasesTurnedAway.load(ordering: .relaxed), helperMoves: helperMoves.load(ordering: .relaxed))
  }

  /// Threads for lanes `1...helpers`; models share ``shared(count:)``'s instead.
  init(helpers: Int, leavesSlowHelpersOut: Bool = true) {
    (self.helpers, self.leavesSlowHelpersOut) = (helpers, leavesSlowHelpersOut)
    helperWaiters = (0..<helpers).map { _ in Waiter() }
    for helper in 0..<helpers {
      // The kernels keep packed rows on the stack (18 KB for a text layer's products).
      Thread.start(named: "weft-lane-\(helper + 1)", stackSize: 4 << 20) { [self] in self.serve(lane: helper + 1) }
    }
  }

  /// Runs `body(lane)` for every lane in `0...helpers`, lane 0 on the calling thread (all
  /// of them there while the helpers are slow); returns when all are done. Returns false
  /// without running anything when another caller is using the threads (the caller then
  /// uses the system's pool).
  func run(_ body: @Sendable (Int) -> Void) -> Bool {
    guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
      phasesTurnedAway.add(1, ordering: .relaxed)
      return false
    }
    defer { busy.store(false, ordering: .releasing) }
    let clock = ContinuousClock()
    if let until = aloneUntil {
      if clock.now < until {
        phasesAlone.add(1, ordering: .relaxed)
        for lane in 0...helpers { body(lane) }
        return true
      }
      aloneUntil = nil
    }
    phasesWithHelpers.add(1, ordering: .relaxed)
    withoutActuallyEscaping(body) { body in
      job = body
      finished.store(0, ordering: .relaxed)
      callerCPU.store(Int(weft_current_cpu()), ordering: .relaxed)
      let start = clock.now
      phase.add(1, ordering: .sequentiallyConsistent)
      for waiter in helperWaiters { waiter.wake() }
      body(0)
      let ownShareDone = clock.now
      callerWaiter.wait { finished.load(ordering: .sequentiallyConsistent) == helpers }
      job = nil
      let end = clock.now
      noteWait(end - ownShareDone, ownShare: ownShareDone - start, now: end)
    }
    return true
  }

  /// Counts a barrier where the caller waited long for the helpers; after
  /// ``slowPhasesBeforeAlone`` in a row, the caller goes alone for ``aloneTime``.
  private func noteWait(_ waited: Duration, ownShare: Duration, now: ContinuousClock.Instant) {
    guard leavesSlowHelpersOut, waited > max(Self.slowHelperWait, ownShare) else {
      slowPhases = 0
      return
    }
    slowPhases += 1
    guard slowPhases >= Self.slowPhasesBeforeAlone else { return }
    (slowPhases, aloneUntil) = (0, now + Self.aloneTime)
  }

  /// How long a helper that found itself on the caller's CPU keeps off it.
  static let avoidanceTime: Duration = .milliseconds(10)

  private func serve(lane: Int) {
    let waiter = helperWaiters[lane - 1]
    let clock = ContinuousClock()
    var seen = 0
    var avoidingUntil: ContinuousClock.Instant?
    while true {
      waiter.wait { phase.load(ordering: .sequentiallyConsistent) != seen }
      seen = phase.load(ordering: .acquiring)
      // Woken by the caller, this thread may be put on the caller's CPU (this kernel
      // favours the waker's), and then both halves of every phase take turns on one
      // core until the load balancer moves one: calls at twice their time for stretches
      // of 10–30 calls. Found there, the helper moves off it for a while, long enough
      // for a call, then may go anywhere again: kept off for good, it could not move to
      // a core other processes left free (docs/BENCHMARKS.md, sixteenth session).
      let caller = callerCPU.load(ordering: .relaxed)
      if caller >= 0 && Int(weft_current_cpu()) == caller {
        if weft_thread_avoid_cpu(Int32(caller)) == 0 {
          avoidingUntil = clock.now + Self.avoidanceTime
          helperMoves.add(1, ordering: .relaxed)
        }
      } else if let until = avoidingUntil, clock.now >= until {
        _ = weft_thread_allow_all_cpus()
        avoidingUntil = nil
      }
      job!(lane)
      if finished.add(1, ordering: .sequentiallyConsistent).newValue == helpers { callerWaiter.wake() }
    }
  }

  /// One thread's side of a barrier: it busy-waits for its condition, then sleeps on a
  /// semaphore that the thread making the condition true signals.
  private final class Waiter: Sendable {
    /// Whether the thread sleeps (or is about to) on `wakeUp`.
    private let sleeping = Atomic<Bool>(false)
    private let wakeUp = DispatchSemaphore(value: 0)

    /// Returns once `ready()` holds: busy-waiting up to ``LaneThreads/spinTime``, then
    /// asleep until ``wake()``. `ready` must read its state sequentially consistently,
    /// like the flag here, so the two threads cannot both miss each other's write.
    func wait(until ready: () -> Bool) {
      let clock = ContinuousClock()
      let deadline = clock.now + LaneThreads.spinTime
      var checks = 0
      while !ready() {
        checks += 1
        if checks & 255 != 0 {
          weft_spin_pause()
          continue
        }
        // Every 256 checks (a few µs), the clock; and a yield, since the thread waited
        // for may share this CPU (the scheduler can wake one thread onto the other's) and
        // could not run while this one spins.
        if clock.now < deadline {
          sched_yield()
          continue
        }
        sleeping.store(true, ordering: .sequentiallyConsistent)
        if ready() {
          // The waker may have taken the flag already, and then signals: take the signal.
          if !sleeping.exchange(false, ordering: .sequentiallyConsistent) { wakeUp.wait() }
          return
        }
        wakeUp.wait()
      }
    }

    /// Wakes the thread if it sleeps in ``wait(until:)``; call after making its condition true.
    func wake() {
      if sleeping.exchange(false, ordering: .sequentiallyConsistent) { wakeUp.signal() }
    }
  }
}
