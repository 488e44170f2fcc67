import Foundation

/// SplitMix64: a tiny, fast generator, good enough for choosing versions, shadow
/// copies, Thompson samples and random projections (the system generator makes a
/// system call per draw). Seeded, so a projection can be made again from its seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// A generator starting from `seed`.
  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9e37_79b9_7f4a_7c15
    return Self.mix(state)
  }

  /// A draw in [0, 1).
  public mutating func nextUnit() -> Double { Self.unit(next()) }

  /// A standard normal draw (Box–Muller).
  public mutating func nextStandardNormal() -> Double {
    let u1 = 1 - nextUnit()
    let u2 = nextUnit()
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
  }

  /// SplitMix64's output function: a bijection that spreads every input bit.
  public static func mix(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
  }

  /// The top 53 bits of `bits` as a Double in [0, 1).
  public static func unit(_ bits: UInt64) -> Double { Double(bits >> 11) * 0x1.0p-53 }
}
