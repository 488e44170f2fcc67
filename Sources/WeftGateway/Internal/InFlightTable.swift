/// The gateway's in-flight requests, in a slab: the dispatch id is the slot index in
/// its low 32 bits and the slot's generation in its high 32 bits, so a lookup is an
/// array index and one compare, with no hashing, and an id from a finished request
/// never matches the slot's next occupant.
struct InFlightTable {
  private var slots: [InFlightRequest?] = []
  private var generations: [UInt32] = []
  private var free: [Int] = []
  /// How many requests are held.
  private(set) var count = 0

  /// Stores a new request; returns its dispatch id.
  mutating func insert(_ request: InFlightRequest) -> UInt64 {
    let slot: Int
    if let reused = free.popLast() {
      slot = reused
    } else {
      slot = slots.count
      slots.append(nil)
      generations.append(0)
    }
    generations[slot] &+= 1
    let id = UInt64(generations[slot]) << 32 | UInt64(slot)
    slots[slot] = request
    count += 1
    return id
  }

  /// The request with dispatch id `id`, if still held.
  subscript(id: UInt64) -> InFlightRequest? {
    let slot = Int(truncatingIfNeeded: id & 0xffff_ffff)
    guard slot < slots.count, UInt64(generations[slot]) == id >> 32 else { return nil }
    return slots[slot]
  }

  /// Whether `id` is still held.
  func contains(_ id: UInt64) -> Bool { self[id] != nil }

  /// Removes and returns request `id`.
  @discardableResult
  mutating func remove(_ id: UInt64) -> InFlightRequest? {
    let slot = Int(truncatingIfNeeded: id & 0xffff_ffff)
    guard slot < slots.count, UInt64(generations[slot]) == id >> 32, let request = slots[slot] else { return nil }
    slots[slot] = nil
    free.append(slot)
    count -= 1
    return request
  }

  /// The ids of held requests matching `predicate`, oldest slot first.
  func ids(where predicate: (InFlightRequest) -> Bool) -> [UInt64] {
    var result: [UInt64] = []
    for (slot, request) in slots.enumerated() {
      if let request, predicate(request) { result.append(UInt64(generations[slot]) << 32 | UInt64(slot)) }
    }
    return result
  }

  /// Every held request.
  var requests: some Sequence<InFlightRequest> { slots.lazy.compactMap { $0 } }
}
