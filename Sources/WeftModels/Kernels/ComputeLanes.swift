import Foundation
import Synchronization

/// The threads a model spreads one batch over.
///
/// Models split their work themselves (row blocks for the per-token layers, independent
/// tasks such as attention heads) and call OpenBLAS single-threaded from each lane.
/// Letting OpenBLAS thread each product instead cost more: its idle threads spin in
/// `sched_yield` between products, against the lanes and the element-wise work, and
/// every product re-packs its operands across threads.
public struct ComputeLanes: Sendable {
  /// How many lanes run at once.
  public let count: Int
  /// The threads that run lanes 1 and up; nil for one lane.
  private let threads: LaneThreads?

  /// Lanes for `count` threads (the machine's cores by default). Switches OpenBLAS to a
  /// single thread for the whole process, since the lanes now do the threading.
  public init(count: Int = ProcessInfo.processInfo.activeProcessorCount) {
    self.count = max(1, count)
    threads = self.count > 1 ? LaneThreads.shared(count: self.count) : nil
    Gemm.setThreads(1)
  }

  /// Lanes on threads of their own, `threads` running lanes `1..<count` (for tests, which
  /// the shared threads' other callers, or their going alone, would disturb).
  init(count: Int, threads: LaneThreads) {
    (self.count, self.threads) = (count, threads)
    Gemm.setThreads(1)
  }

  /// How the phases of every model on these lanes' threads have run since the process
  /// started them (models with the same lane count share the threads): for telling why a
  /// run was slow. All zero for one lane.
  public var phaseCounts: PhaseCounts { threads?.counts ?? PhaseCounts() }

  /// Counts of how the lanes' phases ran (``phaseCounts``).
  public struct PhaseCounts: Sendable, Equatable {
    /// Phases split between the calling thread and the helper threads.
    public var withHelpers = 0
    /// Phases the caller ran alone, every lane's share, while the helpers were slow (a
    /// phase then takes one lane's time).
    public var alone = 0
    /// Phases run on the system's thread pool because another caller held the threads.
    public var turnedAway = 0
    /// Times a helper found itself on its caller's CPU and moved off it for a while.
    public var helperMoves = 0

    /// The counts since `earlier`.
    public func since(_ earlier: PhaseCounts) -> PhaseCounts {
      PhaseCounts(
        withHelpers: withHelpers - earlier.withHelpers, alone: alone - earlier.alone, turnedAway: turnedAway - earlier.turnedAway,
        helperMoves: helperMoves - earlier.helperMoves)
    }
  }

  /// Calls `body` once per lane with a contiguous block of `rows`, all lanes at once;
  /// returns when every block is done. Blocks are at least `minimumRows` long, so tiny
  /// inputs run on fewer lanes.
  public func forEachBlock(of rows: Int, minimumRows: Int = 4, _ body: @Sendable (Range<Int>) -> Void) {
    guard rows > 0 else { return }
    let blocks = min(count, max(1, rows / max(1, minimumRows)))
    if blocks == 1 { return body(0..<rows) }
    let block: @Sendable (Int) -> Void = { lane in
      guard lane < blocks else { return }
      body(rows * lane / blocks..<rows * (lane + 1) / blocks)
    }
    if threads?.run(block) == true { return }
    DispatchQueue.concurrentPerform(iterations: blocks, execute: block)
  }

  /// ``forEachBlock(of:minimumRows:_:)`` over `columns` in whole groups of `unit` (the
  /// last may be short): a lane's share never ends inside a vector or a panel, and two
  /// splits of the same columns give each lane the same ones.
  public func forEachColumnBlock(of columns: Int, unit: Int, _ body: @Sendable (Range<Int>) -> Void) {
    forEachBlock(of: (columns + unit - 1) / unit, minimumRows: 1) { units in
      body(units.lowerBound * unit..<min(columns, units.upperBound * unit))
    }
  }

  /// Calls `body` for `0..<count` in chunks of `size` (the last may be short), each lane
  /// claiming the next chunk when it finishes one, so a lane that runs slower (its vCPU
  /// sharing a core with another tenant, an interrupt) takes fewer chunks instead of
  /// holding the others at the barrier; returns when all are done. `body` receives the
  /// chunk and the lane running it. For work whose data does not stay in a lane's cache
  /// from one phase to the next (weights streamed from L3 or memory): the fixed blocks
  /// of ``forEachBlock(of:minimumRows:_:)`` keep that.
  public func forEachClaimedChunk(of count: Int, size: Int, _ body: @Sendable (_ chunk: Range<Int>, _ lane: Int) -> Void) {
    let size = max(1, size)
    let chunks = (count + size - 1) / size
    guard chunks > 1, self.count > 1 else { return count > 0 ? body(0..<count, 0) : () }
    let next = ChunkCounter()
    let claim: @Sendable (Int) -> Void = { lane in
      while true {
        let index = next.value.add(1, ordering: .relaxed).oldValue
        guard index < chunks else { return }
        body(index * size..<min(count, (index + 1) * size), lane)
      }
    }
    if threads?.run(claim) == true { return }
    DispatchQueue.concurrentPerform(iterations: min(self.count, chunks), execute: claim)
  }

  /// A chunk size that cuts `count` items into eight for ``forEachClaimedChunk(of:size:_:)``
  /// (the last may be short): a lane on a vCPU 1.7× slower than the other's then ends
  /// within a chunk of it, and each chunk's own setup stays small.
  public static func eighth(of count: Int) -> Int { (count + 7) / 8 }

  /// The next chunk to claim in ``forEachClaimedChunk(of:size:_:)``.
  private final class ChunkCounter: Sendable {
    let value = Atomic<Int>(0)
  }

  /// Calls `body` for every task in `0..<tasks`, the tasks dealt round-robin over the
  /// lanes; returns when all are done. `body` receives the task and its lane, so a lane
  /// can reuse its own scratch memory.
  public func forEachTask(_ tasks: Int, _ body: @Sendable (_ task: Int, _ lane: Int) -> Void) {
    guard tasks > 0 else { return }
    let active = min(count, tasks)
    if active == 1 { return (0..<tasks).forEach { body($0, 0) } }
    let share: @Sendable (Int) -> Void = { lane in
      guard lane < active else { return }
      for task in stride(from: lane, to: tasks, by: active) { body(task, lane) }
    }
    if threads?.run(share) == true { return }
    DispatchQueue.concurrentPerform(iterations: active, execute: share)
  }
}
