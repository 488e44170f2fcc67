import Foundation
import Synchronization
import Testing

@testable import WeftModels

/// The lanes' threads: every block runs once per phase and is finished when the call
/// returns, whether the helper threads were busy-waiting, asleep, or taken by another caller.
@Suite(.timeLimit(.minutes(1)))
struct ComputeLanesTests {
  /// Adds each block's rows into `cells`, one cell per row, and checks every row was
  /// counted exactly once per phase by the time the call returned.
  private static func runPhases(_ lanes: ComputeLanes, phases: Int, rows: Int, pause: Duration = .zero) -> Bool {
    let counters = Cells(count: rows, initial: 0)
    for phase in 1...phases {
      lanes.forEachBlock(of: rows, minimumRows: 1) { block in
        for row in block { counters.cells[row].value.add(1, ordering: .relaxed) }
      }
      // Read right after the call: a lane still running would leave a cell behind.
      for row in 0..<rows where counters.cells[row].value.load(ordering: .relaxed) != phase { return false }
      if pause > .zero { Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18) }
    }
    return true
  }

  @Test func everyBlockRunsOncePerPhaseAcrossManyBackToBackPhases() {
    #expect(Self.runPhases(ComputeLanes(count: 2), phases: 20_000, rows: 7))
  }

  @Test func helpersThatFellAsleepBetweenPhasesAreWoken() {
    // Each pause outlasts the helpers' busy-wait, so every phase finds them asleep.
    let pause = LaneThreads.spinTime * 5
    #expect(Self.runPhases(ComputeLanes(count: 2), phases: 40, rows: 4, pause: pause))
  }

  @Test func tasksGetTheirLaneAndEachRunsOnce() {
    let lanes = ComputeLanes(count: 2)
    let seen = Cells(count: 25, initial: -1)
    lanes.forEachTask(25) { task, lane in seen.cells[task].value.store(lane, ordering: .relaxed) }
    let assigned = seen.cells.map { $0.value.load(ordering: .relaxed) }
    #expect(assigned == (0..<25).map { $0 % 2 })
  }

  @Test func twoCallersAtOnceBothFinishTheirPhases() async {
    // The second caller finds the threads taken and runs on the system's pool instead.
    let lanes = ComputeLanes(count: 2)
    let results = await withTaskGroup(of: Bool.self) { group in
      for _ in 0..<2 { group.addTask { Self.runPhases(lanes, phases: 3_000, rows: 9) } }
      return await group.reduce(into: [Bool]()) { $0.append($1) }
    }
    #expect(results == [true, true])
  }
}

/// Counters shared with the lanes' closures.
private struct Cells: Sendable {
  final class Cell: Sendable {
    let value: Atomic<Int>
    init(_ initial: Int) { value = Atomic(initial) }
  }
  let cells: [Cell]
  init(count: Int, initial: Int) { cells = (0..<count).map { _ in Cell(initial) } }
}
