import CWeftKernels
import Dispatch
import Foundation
import Synchronization

/// Threads that stay with the lanes between the phases of a forward pass.
///
/// A forward pass is a chain of short phases (a text layer has five, the vision model
/// some fifty), each split over the lanes and ended by a barrier. Handing each phase to
/// the system's thread pool wakes a sleeping thread every time, and on this machine a
/// wake-up takes 20–30 µs before the thread runs; the barrier then waits for it. These
/// threads instead busy-wait for the next phase for ``spinTime`` after each one (on the
/// CPU, like OpenMP's runtimes), and sleep on a semaphore only once that runs out, so
/// a pass pays one wake-up, not one per phase.
final class LaneThreads: @unchecked Sendable {
  // @unchecked: `job` is written only by the caller holding `busy`, before it publishes
  // the phase (`phase`, releasing) and read by the threads after they see it (acquiring);
  // the caller clears it only after every thread reported the phase done.

  /// How long a thread keeps busy-waiting for the next phase before it sleeps.
  static let spinTime: Duration = .microseconds(200)

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
  private let helperStates: [HelperState]
  private var job: (@Sendable (Int) -> Void)?

  /// What the caller needs to wake one helper.
  private final class HelperState: Sendable {
    /// Whether the helper sleeps on `wakeUp` (so the next phase must signal it).
    let sleeping = Atomic<Bool>(false)
    let wakeUp = DispatchSemaphore(value: 0)
  }

  private init(helpers: Int) {
    self.helpers = helpers
    helperStates = (0..<helpers).map { _ in HelperState() }
    for helper in 0..<helpers {
      let thread = Thread { [self] in self.serve(lane: helper + 1) }
      thread.name = "weft-lane-\(helper + 1)"
      // The kernels keep packed rows on the stack (up to ~74 KB for a text layer).
      thread.stackSize = 4 << 20
      thread.start()
    }
  }

  /// Runs `body(lane)` for every lane in `0...helpers`, lane 0 on the calling thread;
  /// returns when all are done. Returns false without running anything when another
  /// caller is using the threads (the caller then uses the system's pool).
  func run(_ body: @Sendable (Int) -> Void) -> Bool {
    guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
    defer { busy.store(false, ordering: .releasing) }
    withoutActuallyEscaping(body) { body in
      job = body
      finished.store(0, ordering: .relaxed)
      phase.add(1, ordering: .releasing)
      // Sequentially consistent with the helper's flag store and phase load: neither side
      // may miss both the other's write (a helper asleep on a phase nobody signals).
      phase.add(0, ordering: .sequentiallyConsistent)
      for helper in helperStates where helper.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
        helper.wakeUp.signal()
      }
      body(0)
      var waits = 0
      while finished.load(ordering: .acquiring) < helpers {
        waits += 1
        // A helper descheduled mid-phase would otherwise hold this core spinning.
        if waits & 1023 == 0 { sched_yield() } else { weft_spin_pause() }
      }
      job = nil
    }
    return true
  }

  private func serve(lane: Int) {
    var seen = 0
    while true {
      seen = waitForPhase(after: seen, helper: helperStates[lane - 1])
      job!(lane)
      finished.add(1, ordering: .releasing)
    }
  }

  /// Busy-waits for a phase later than `seen` for up to ``spinTime``, then sleeps until
  /// the caller signals one; returns the phase seen.
  private func waitForPhase(after seen: Int, helper: HelperState) -> Int {
    let clock = ContinuousClock()
    let deadline = clock.now + Self.spinTime
    var checks = 0
    while true {
      let current = phase.load(ordering: .acquiring)
      if current != seen { return current }
      checks += 1
      if checks & 255 != 0 {
        weft_spin_pause()
        continue
      }
      guard clock.now >= deadline else { continue }
      helper.sleeping.store(true, ordering: .sequentiallyConsistent)
      // A phase published between the check above and the store would find the flag
      // still clear and not signal: look again before sleeping.
      if phase.load(ordering: .sequentiallyConsistent) != seen,
        helper.sleeping.exchange(false, ordering: .sequentiallyConsistent)
      {
        continue
      }
      // Either no phase yet, or the caller took the flag and signals: wait for it.
      helper.wakeUp.wait()
    }
  }
}
