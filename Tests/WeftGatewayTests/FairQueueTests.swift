import Testing

@testable import WeftGateway

@Suite struct FairQueueTests {
  private func client(_ value: UInt8) -> PeerID { [value].withUnsafeBytes { PeerID($0)! } }

  private func drain(_ queue: inout FairQueue) -> [UInt64] {
    var order: [UInt64] = []
    while let first = queue.first {
      #expect(queue.popFirst() == first)
      order.append(first)
    }
    return order
  }

  /// A flood from one client does not hold back another: turns alternate.
  @Test func clientsTakeTurns() {
    var queue = FairQueue()
    for id in 1...5_000 as ClosedRange<UInt64> { queue.append(id, client: client(1), priority: 0) }
    for id in 10_001...10_003 as ClosedRange<UInt64> { queue.append(id, client: client(2), priority: 0) }
    let order = drain(&queue)
    #expect(order.prefix(6) == [1, 10_001, 2, 10_002, 3, 10_003])
    #expect(order.count == 5_003 && queue.isEmpty && queue.count == 0)
    // Without turns (one FIFO), the second client's first request would have been the 5,001st.
  }

  @Test func higherPriorityGoesFirstWithinAClientsShareOnly() {
    var queue = FairQueue()
    queue.append(1, client: client(1), priority: 0)
    queue.append(2, client: client(1), priority: 0)
    queue.append(3, client: client(1), priority: 9)
    queue.append(4, client: client(2), priority: 0)
    queue.append(5, client: client(1), priority: 9)
    // Client 1's turn: its priority-9 requests first, oldest first; client 2 keeps its turns.
    #expect(drain(&queue) == [3, 4, 5, 1, 2])
  }

  @Test func aRetriedRequestGoesFirstAndExpiredOnesAreSwept() {
    var queue = FairQueue()
    for id in 1...4 as ClosedRange<UInt64> { queue.append(id, client: client(UInt8(id % 2)), priority: 0) }
    queue.prepend(9, client: client(1), priority: 0)
    #expect(queue.first == 9)
    queue.removeAll { $0 == 2 || $0 == 4 }  // all of client 0's
    #expect(queue.count == 3)
    #expect(drain(&queue) == [9, 1, 3])
  }
}
