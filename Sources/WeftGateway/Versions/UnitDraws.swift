import WeftProtocol

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
    return SplitMix64.unit(SplitMix64.mix(fnv1a(userID, hash)))
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
}
