/// Pending deadlines (monotonic microseconds), earliest first: a binary min-heap of (deadline, dispatch id).
///
/// Entries are never removed from the middle; a request that finished early leaves its
/// entry behind, and the caller skips ids it no longer knows when they come due.
public struct DeadlineQueue: Sendable {
  private var heap: [(deadline: UInt64, id: UInt64)] = []

  /// An empty queue.
  public init() {}

  /// How many entries are held, stale ones included.
  public var count: Int { heap.count }

  /// The earliest deadline, if any.
  public var nextDeadline: UInt64? { heap.first?.deadline }

  /// Adds a deadline for `id`.
  public mutating func insert(id: UInt64, deadline: UInt64) {
    heap.append((deadline, id))
    var child = heap.count - 1
    while child > 0 {
      let parent = (child - 1) / 2
      guard heap[child].deadline < heap[parent].deadline else { break }
      heap.swapAt(child, parent)
      child = parent
    }
  }

  /// Removes and returns the earliest entry if it is due at `now`.
  public mutating func popExpired(at now: UInt64) -> (deadline: UInt64, id: UInt64)? {
    guard let first = heap.first, first.deadline <= now else { return nil }
    let last = heap.removeLast()
    if !heap.isEmpty {
      heap[0] = last
      var parent = 0
      while true {
        let left = 2 * parent + 1
        let right = left + 1
        var smallest = parent
        if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
        if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
        if smallest == parent { break }
        heap.swapAt(parent, smallest)
        parent = smallest
      }
    }
    return first
  }

  /// Drops entries whose id `isLive` rejects and restores heap order; call when stale
  /// entries outnumber live ones, so memory follows what is in flight, not what was.
  public mutating func compact(keeping isLive: (UInt64) -> Bool) {
    heap.removeAll { !isLive($0.id) }
    heap.sort { $0.deadline < $1.deadline }  // a sorted array is a valid min-heap
  }
}
