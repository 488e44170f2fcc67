/// FNV-1a, 64-bit: a small stable hash of bytes, the same in every process and on every
/// run (unlike Swift's `Hasher`, which is seeded per process). Used for sticky version
/// placement and for short stable ids of long texts.
public enum FNV1a {
  /// The starting value of a fresh hash.
  public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
  /// The multiplier applied after each byte.
  public static let prime: UInt64 = 0x0000_0100_0000_01b3

  /// The hash of `text`'s UTF-8 bytes, continuing from `start` (so hashes can be chained).
  public static func hash(_ text: String, from start: UInt64 = offsetBasis) -> UInt64 {
    var text = text
    return text.withUTF8 { hash(UnsafeRawBufferPointer($0), from: start) }
  }

  /// The hash of `bytes`, continuing from `start`.
  public static func hash(_ bytes: UnsafeRawBufferPointer, from start: UInt64 = offsetBasis) -> UInt64 {
    var hash = start
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* prime }
    return hash
  }
}
