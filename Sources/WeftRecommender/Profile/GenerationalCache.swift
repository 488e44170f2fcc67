/// A bounded map that forgets what was not used lately, in O(1) per call.
///
/// Entries live in two generations; when the current one fills half the capacity it
/// becomes the previous one and the old previous one is dropped. A hit in the previous
/// generation moves the entry to the current one. So at most `capacity` entries are
/// held, and an entry used at least once per half-capacity insertions is never lost.
struct GenerationalCache<Key: Hashable, Value> {
  private var current: [Key: Value] = [:]
  private var previous: [Key: Value] = [:]
  let capacity: Int

  init(capacity: Int) { self.capacity = max(2, capacity) }

  /// Entries held.
  var count: Int { current.count + previous.count }

  mutating func value(for key: Key) -> Value? {
    if let value = current[key] { return value }
    guard let value = previous.removeValue(forKey: key) else { return nil }
    insert(value, for: key)
    return value
  }

  mutating func insert(_ value: Value, for key: Key) {
    previous.removeValue(forKey: key)
    current[key] = value
    if current.count >= capacity / 2 {
      previous = current
      current = [:]
    }
  }

  mutating func remove(_ key: Key) {
    current.removeValue(forKey: key)
    previous.removeValue(forKey: key)
  }

  mutating func removeAll() {
    current = [:]
    previous = [:]
  }
}
