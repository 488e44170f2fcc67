/// In-flight ids by a client's request ids: open addressing with linear probing and a
/// seeded multiplicative hash.
///
/// Why not `Dictionary`: every request is put in and taken out once, and Swift's SipHash
/// cost more than the rest of admitting the request. The seed is random per process, so
/// a client cannot choose request ids that collide; it could only slow its own record
/// anyway, whose size its in-flight limit bounds.
struct RequestIDMap {
  private struct Slot {
    var key: UInt64
    var value: UInt64
    var occupied: Bool
  }

  private var slots: [Slot] = []
  /// 64 − log₂(slot count): the hash's top bits pick the slot.
  private var shift: UInt64 = 64
  private let seed: UInt64
  /// How many keys are held.
  private(set) var count = 0

  /// Slots in a map's first table; it doubles when half full.
  static let initialCapacity = 8

  /// The seed of maps made without one: drawn once per process.
  static let processSeed = UInt64.random(in: .min ... .max)

  /// An empty map hashing with `seed`.
  init(seed: UInt64 = Self.processSeed) { self.seed = seed }

  /// The value for `key`, if held.
  subscript(key: UInt64) -> UInt64? {
    guard count > 0 else { return nil }
    let (index, found) = probe(for: key)
    return found ? slots[index].value : nil
  }

  /// Holds `value` for `key`, replacing what was there.
  mutating func set(_ value: UInt64, for key: UInt64) {
    if (count + 1) * 2 > slots.count { grow() }
    let (index, found) = probe(for: key)
    if !found { count += 1 }
    slots[index] = Slot(key: key, value: value, occupied: true)
  }

  /// Removes `key`; returns its value if it was held.
  @discardableResult
  mutating func removeValue(for key: UInt64) -> UInt64? {
    guard count > 0 else { return nil }
    let (index, found) = probe(for: key)
    guard found else { return nil }
    let removed = slots[index].value
    // Backward shift: move later keys of the run into the hole when their home lies at
    // or before it, so lookups never need tombstones.
    let mask = slots.count - 1
    var hole = index
    var next = (hole + 1) & mask
    while slots[next].occupied {
      let home = home(of: slots[next].key)
      if (next &- home) & mask >= (next &- hole) & mask {
        slots[hole] = slots[next]
        hole = next
      }
      next = (next + 1) & mask
    }
    slots[hole].occupied = false
    count -= 1
    return removed
  }

  /// The slot holding `key`, or the empty one that ends its run (the table is never
  /// more than half full, so there is one).
  private func probe(for key: UInt64) -> (index: Int, found: Bool) {
    var index = home(of: key)
    while slots[index].occupied {
      if slots[index].key == key { return (index, true) }
      index = (index + 1) & (slots.count - 1)
    }
    return (index, false)
  }

  private func home(of key: UInt64) -> Int {
    Int(truncatingIfNeeded: ((key ^ seed) &* 0x9E37_79B9_7F4A_7C15) >> shift)
  }

  private mutating func grow() {
    let old = slots
    let capacity = max(Self.initialCapacity, old.count * 2)
    slots = Array(repeating: Slot(key: 0, value: 0, occupied: false), count: capacity)
    shift = UInt64(64 - capacity.trailingZeroBitCount)
    count = 0
    for slot in old where slot.occupied { set(slot.value, for: slot.key) }
  }
}
