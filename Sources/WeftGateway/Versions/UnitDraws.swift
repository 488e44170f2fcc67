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
    var hash = FNV1a.hash(service)
    hash = (hash ^ 0xff) &* FNV1a.prime  // separator: ("ab","c") ≠ ("a","bc")
    return SplitMix64.unit(SplitMix64.mix(FNV1a.hash(userID, from: hash)))
  }
}
