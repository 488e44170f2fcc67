import DequeModule

/// Requests waiting in one queue of a service, served round-robin across the clients that
/// sent them and, within a client's turn, highest priority first, then oldest first. One
/// client flooding a service so waits behind its own requests, not in front of others'.
///
/// Holds dispatch ids only; an id may belong to a request that has expired since, which
/// the caller skips when it comes up (and ``removeAll(where:)`` sweeps).
struct FairQueue {
  /// One client's waiting ids, by priority.
  private struct Lane {
    /// Highest priority first; nearly always a single level.
    var levels: [(priority: UInt8, ids: Deque<UInt64>)] = []

    var first: UInt64? { levels.first?.ids.first }
    var isEmpty: Bool { levels.isEmpty }

    mutating func insert(_ id: UInt64, priority: UInt8, atFront: Bool) {
      let index = levels.firstIndex { $0.priority <= priority } ?? levels.endIndex
      if index < levels.endIndex && levels[index].priority == priority {
        if atFront { levels[index].ids.prepend(id) } else { levels[index].ids.append(id) }
      } else {
        levels.insert((priority, [id]), at: index)
      }
    }

    mutating func popFirst() -> UInt64? {
      guard !levels.isEmpty else { return nil }
      let id = levels[0].ids.popFirst()
      if levels[0].ids.isEmpty { levels.removeFirst() }
      return id
    }

    mutating func removeAll(where shouldRemove: (UInt64) -> Bool) -> Int {
      var removed = 0
      for index in levels.indices {
        let before = levels[index].ids.count
        levels[index].ids.removeAll(where: shouldRemove)
        removed += before - levels[index].ids.count
      }
      levels.removeAll { $0.ids.isEmpty }
      return removed
    }
  }

  private var lanes: [PeerID: Lane] = [:]
  /// Clients with waiting ids; the first one's turn is next.
  private var turns: Deque<PeerID> = []
  /// Ids held, expired ones included.
  private(set) var count = 0

  var isEmpty: Bool { count == 0 }

  /// The id ``popFirst()`` would return.
  var first: UInt64? { turns.first.flatMap { lanes[$0]?.first } }

  /// Adds `id` for `client` behind its other ids of the same priority.
  mutating func append(_ id: UInt64, client: PeerID, priority: UInt8) {
    insert(id, client: client, priority: priority, atFront: false)
  }

  /// Adds a retried `id` ahead of `client`'s others of its priority, and gives that client
  /// the next turn: it had waited its turn once already.
  mutating func prepend(_ id: UInt64, client: PeerID, priority: UInt8) {
    insert(id, client: client, priority: priority, atFront: true)
    if let index = turns.firstIndex(of: client), index > 0 {
      turns.remove(at: index)
      turns.prepend(client)
    }
  }

  /// Takes the next id: the first of the client whose turn it is, who then goes to the
  /// back of the turns if it has more.
  mutating func popFirst() -> UInt64? {
    guard let client = turns.popFirst() else { return nil }
    let id = lanes[client]?.popFirst()
    if lanes[client]?.isEmpty == false { turns.append(client) } else { lanes[client] = nil }
    if id != nil { count -= 1 }
    return id
  }

  /// Drops every id `shouldRemove` says, e.g. those of expired requests.
  mutating func removeAll(where shouldRemove: (UInt64) -> Bool) {
    for client in Array(lanes.keys) {
      count -= lanes[client]!.removeAll(where: shouldRemove)
      if lanes[client]!.isEmpty { lanes[client] = nil }
    }
    turns.removeAll { lanes[$0] == nil }
  }

  private mutating func insert(_ id: UInt64, client: PeerID, priority: UInt8, atFront: Bool) {
    if lanes[client] == nil {
      lanes[client] = Lane()
      turns.append(client)
    }
    lanes[client]!.insert(id, priority: priority, atFront: atFront)
    count += 1
  }
}
