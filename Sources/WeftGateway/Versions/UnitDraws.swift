/// Numbers in [0, 1) that place a request on a policy's split: a stable hash of a user id
/// (the same user lands on the same point in every gateway and across restarts) or a
/// fast pseudo-random draw for requests without one.
enum UnitDraw {
  /// The point of `userID` for `service`. The service is mixed in so one user's place in
  /// one service's experiment says nothing about their place in another's.
  ///
  /// FNV-1a over the bytes, then SplitMix64's finaliser to spread FNV's weak low bits;
  /// not Swift's `Hasher`, which is seeded per process.
  static func sticky(service: String, userID: String) -> Double {
    var hash = fnv1a(service, 0xcbf2_9ce4_8422_2325)
    hash = (hash ^ 0xff) &* fnvPrime  // separator: ("ab","c") ≠ ("a","bc")
    return unit(SplitMix64.mix(fnv1a(userID, hash)))
  }

  private static let fnvPrime: UInt64 = 0x0000_0100_0000_01b3

  /// FNV-1a over the UTF-8 bytes, read from the string's contiguous storage.
  private static func fnv1a(_ text: String, _ start: UInt64) -> UInt64 {
    var text = text
    return text.withUTF8 { bytes in
      var hash = start
      for byte in bytes { hash = (hash ^ UInt64(byte)) &* fnvPrime }
      return hash
    }
  }

  /// The top 53 bits of `bits` as a Double in [0, 1).
  static func unit(_ bits: UInt64) -> Double { Double(bits >> 11) * 0x1.0p-53 }
}

/// SplitMix64: a tiny, fast generator, good enough for choosing versions, shadow copies
/// and Thompson samples (the system generator makes a system call per draw).
struct SplitMix64: RandomNumberGenerator {
  private var state: UInt64

  /// A generator starting from `seed`.
  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9e37_79b9_7f4a_7c15
    return Self.mix(state)
  }

  /// A draw in [0, 1).
  mutating func nextUnit() -> Double { UnitDraw.unit(next()) }

  /// SplitMix64's output function: a bijection that spreads every input bit.
  static func mix(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
  }
}
