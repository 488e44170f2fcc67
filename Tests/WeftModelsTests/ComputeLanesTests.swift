import CWeftKernels
import Foundation
import Synchronization
import Testing

@testable import WeftModels

/// The lanes: every block or task runs once per call and is finished when the call
/// returns, whichever threads ran it.
struct ComputeLanesTests {
  @Test func everyBlockRunsOncePerCall() {
    let lanes = ComputeLanes(count: 2)
    let rows = Counters(9)
    for call in 1...2_000 {
      lanes.forEachBlock(of: 9, minimumRows: 1) { block in
        for row in block { rows.add(row) }
      }
      guard rows.values == Array(repeating: call, count: 9) else {
        Issue.record("call \(call): \(rows.values)")
        return
      }
    }
  }

  /// Column blocks cover every column once and start on whole units (150 columns in
  /// units of 16: two lanes of 80 and 70).
  @Test func columnBlocksAreWholeUnitsCoveringEveryColumnOnce() {
    let columns = Counters(150)
    let blocks = Log<Range<Int>>()
    ComputeLanes(count: 2).forEachColumnBlock(of: 150, unit: 16) { block in
      blocks.append(block)
      for column in block { columns.add(column) }
    }
    #expect(columns.values == Array(repeating: 1, count: 150))
    #expect(blocks.entries.sorted { $0.lowerBound < $1.lowerBound } == [0..<80, 80..<150])
  }

  /// Claimed chunks cover every item once in whole chunks (150 items, chunks of 32: four
  /// and a short one of 22), each run with a lane that exists; one lane, or one chunk,
  /// runs the items whole on lane 0.
  @Test func claimedChunksCoverEveryItemOnceInWholeChunks() {
    for (lanes, size, expected) in [
      (2, 32, [0..<32, 32..<64, 64..<96, 96..<128, 128..<150]), (1, 32, [0..<150]), (2, 160, [0..<150]),
    ] {
      let columns = Counters(150)
      let chunks = Log<Range<Int>>()
      ComputeLanes(count: lanes).forEachClaimedChunk(of: 150, size: size) { block, lane in
        #expect((0..<lanes).contains(lane))
        #expect(lanes > 1 || block == 0..<150 && lane == 0)
        chunks.append(block)
        for column in block { columns.add(column) }
      }
      #expect(columns.values == Array(repeating: 1, count: 150))
      #expect(chunks.entries.sorted { $0.lowerBound < $1.lowerBound } == expected)
    }
  }

  /// A lane that runs slowly takes fewer chunks: the calling thread sleeps 5 ms in each
  /// of its chunks and the helper takes most of the 40, where the fixed split of
  /// ``ComputeLanes/forEachBlock(of:minimumRows:_:)`` leaves the caller its 20 however
  /// slow it is. The lanes have threads of their own: the shared ones may be going alone
  /// after another test's slow phases, and then the caller runs every chunk.
  @Test func aSlowLaneClaimsFewerChunks() {
    let lanes = ComputeLanes(count: 2, threads: LaneThreads(helpers: 1, leavesSlowHelpersOut: false))
    let caller = pthread_self()
    let claimed = Counters(1)
    lanes.forEachClaimedChunk(of: 40, size: 1) { _, _ in
      guard pthread_equal(pthread_self(), caller) != 0 else { return }
      claimed.add(0)
      usleep(5_000)
    }
    #expect(claimed.values[0] < 20)

    let fixed = Counters(1)
    lanes.forEachBlock(of: 40, minimumRows: 1) { block in
      guard pthread_equal(pthread_self(), caller) != 0 else { return }
      fixed.add(0, block.count)
      usleep(5_000)
    }
    #expect(fixed.values[0] == 20)
  }

  @Test func tasksGetTheirLaneAndEachRunsOnce() {
    let lanes = ComputeLanes(count: 2)
    let lanesSeen = Counters(25)
    lanes.forEachTask(25) { task, lane in lanesSeen.add(task, lane + 1) }
    #expect(lanesSeen.values == (0..<25).map { $0 % 2 + 1 })
  }

  @Test func twoCallersAtOnceBothFinishTheirCalls() async {
    // One caller has the lanes' threads; the other finds them taken and uses the system's pool.
    let lanes = ComputeLanes(count: 2)
    let totals = await withTaskGroup(of: [Int].self) { group in
      for _ in 0..<2 {
        group.addTask {
          let rows = Counters(5)
          for _ in 0..<2_000 { lanes.forEachBlock(of: 5, minimumRows: 1) { block in block.forEach(rows.add) } }
          return rows.values
        }
      }
      return await group.reduce(into: [[Int]]()) { $0.append($1) }
    }
    #expect(totals == [Array(repeating: 2_000, count: 5), Array(repeating: 2_000, count: 5)])
  }
}

/// The threads behind the lanes, on their own instance (models share theirs), through
/// each way a barrier can end: both sides busy-waiting, the helpers asleep, the caller asleep.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct LaneThreadsTests {
  private static func phases(
    _ threads: LaneThreads, lanes: Int, count: Int, pauseBetween: Duration = .zero, slowLane: Duration = .zero
  ) -> Bool {
    let runs = Counters(lanes)
    for phase in 1...count {
      let ran = threads.run { lane in
        if lane == lanes - 1, slowLane > .zero { Thread.sleep(forTimeInterval: slowLane.seconds) }
        runs.add(lane)
      }
      // Read right after the call returns: a lane still running would be behind.
      guard ran, runs.values == Array(repeating: phase, count: lanes) else { return false }
      if pauseBetween > .zero { Thread.sleep(forTimeInterval: pauseBetween.seconds) }
    }
    return true
  }

  @Test(arguments: [1, 3]) func backToBackPhasesEachRunEveryLaneOnce(helpers: Int) {
    // Three helpers on a 2-core machine take turns on the cores: fewer phases. Few phases in
    // all, and one test at a time: these keep both cores busy beside the timing tests.
    #expect(Self.phases(LaneThreads(helpers: helpers), lanes: helpers + 1, count: helpers == 1 ? 5_000 : 300))
  }

  @Test(arguments: [1, 3]) func helpersAsleepBetweenPhasesAreWoken(helpers: Int) {
    // Each pause outlasts the helpers' busy-wait, so every phase finds them asleep.
    #expect(Self.phases(LaneThreads(helpers: helpers), lanes: helpers + 1, count: 30, pauseBetween: LaneThreads.spinTime * 5))
  }

  @Test func aCallerAsleepOnASlowLaneIsWoken() {
    // The last lane outlasts the caller's busy-wait, so the caller sleeps until it ends.
    #expect(Self.phases(LaneThreads(helpers: 1), lanes: 2, count: 20, slowLane: LaneThreads.spinTime * 10))
  }

  /// The scheduler can wake a helper onto its caller's CPU, where the two halves of each
  /// phase would take turns. Here the caller stays on one CPU and the first phase puts the
  /// helper on the same one; at every phase after, the helper runs elsewhere. (Without the
  /// caller going alone: the lanes sharing a CPU can make it wait long enough, and then
  /// lane 1 would run on the caller's CPU by design.)
  @Test(.enabled(if: ProcessInfo.processInfo.activeProcessorCount > 1))
  func aHelperOnItsCallersCPUMovesOffIt() {
    let threads = LaneThreads(helpers: 1, leavesSlowHelpersOut: false)
    // [phases after the first, of them on the caller's CPU]
    let phases = Counters(2)
    let finished = DispatchSemaphore(value: 0)
    let caller = Thread {
      let cpu = weft_current_cpu()
      _ = weft_thread_pin_to_cpu(cpu)
      _ = threads.run { lane in if lane == 1 { _ = weft_thread_pin_to_cpu(cpu) } }
      for _ in 0..<50 {
        _ = threads.run { lane in
          guard lane == 1 else { return }
          phases.add(0)
          if weft_current_cpu() == cpu { phases.add(1) }
        }
      }
      finished.signal()
    }
    caller.start()
    finished.wait()
    #expect(phases.values == [50, 0])
  }

  /// A helper that keeps the caller waiting (another process busy on its CPU) is left
  /// out: one slow barrier changes nothing, after two in a row the caller runs every lane
  /// itself, and once ``LaneThreads/aloneTime`` has passed it uses the helper again.
  @Test func phasesRunOnTheCallerAloneWhileAHelperIsSlow() {
    let threads = LaneThreads(helpers: 1)
    let (laneOnHelper, slow, caller) = (Log<Bool>(), LaneThreads.slowHelperWait * 3, pthread_self())
    func phase(slowHelper: Bool) {
      _ = threads.run { lane in
        guard lane == 1 else { return }
        laneOnHelper.append(pthread_equal(pthread_self(), caller) == 0)
        if slowHelper { Thread.sleep(forTimeInterval: slow.seconds) }
      }
    }
    phase(slowHelper: true)
    phase(slowHelper: true)
    phase(slowHelper: false)
    phase(slowHelper: false)
    Thread.sleep(forTimeInterval: (LaneThreads.aloneTime * 2).seconds)
    phase(slowHelper: false)
    #expect(laneOnHelper.entries == [true, true, false, false, true])
    // What a benchmark reads to tell a slow run's cause.
    let counts = threads.counts
    #expect((counts.withHelpers, counts.alone, counts.turnedAway) == (3, 2, 0))
  }

  @Test func aSecondCallerIsTurnedAwayWhileTheThreadsAreTaken() {
    let threads = LaneThreads(helpers: 1)
    let nested = Counters(1)
    let outer = threads.run { lane in
      guard lane == 0 else { return }
      if threads.run({ _ in }) { nested.add(0) }
    }
    #expect(outer)
    #expect(nested.values == [0])
    #expect((threads.counts.withHelpers, threads.counts.turnedAway) == (1, 1))
  }
}

/// Counters shared with the lanes' closures.
private final class Counters: Sendable {
  private let cells: Mutex<[Int]>
  init(_ count: Int) { cells = Mutex(Array(repeating: 0, count: count)) }
  func add(_ index: Int) { add(index, 1) }
  func add(_ index: Int, _ amount: Int) { cells.withLock { $0[index] += amount } }
  var values: [Int] { cells.withLock { $0 } }
}

/// What the lanes' closures saw, in order.
private final class Log<Entry: Sendable>: Sendable {
  private let cells = Mutex<[Entry]>([])
  func append(_ entry: Entry) { cells.withLock { $0.append(entry) } }
  var entries: [Entry] { cells.withLock { $0 } }
}

extension Duration {
  fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
