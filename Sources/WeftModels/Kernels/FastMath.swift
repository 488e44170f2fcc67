/// Vectorised exp on 8 floats at a time, for the speech model's gates, where glibc's
/// scalar `expf` costs as much as a matrix product. The text model's GELU and softmax use
/// the same polynomial in C (`weft_gelu`, `weft_softmax_rows`), where AVX2 and FMA can be
/// chosen at run time.
enum FastMath {
  typealias Vector = SIMD8<Float>

  /// eˣ to about 1 ulp: x = n·ln2 + r, |r| ≤ ln2/2, eʳ by Cephes' degree-6 polynomial,
  /// 2ⁿ put into the exponent bits. Inputs are clamped to the float range.
  @inline(__always)
  static func exp(_ x: Vector) -> Vector {
    let low = Vector(repeating: -87.33)
    let high = Vector(repeating: 88.37)
    let x = x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
    // Adding 1.5·2²³ rounds to the nearest integer in float arithmetic and leaves it in
    // the low mantissa bits; SIMD's own rounding and Int32 conversion run lane by lane
    // through generic code, many times slower.
    let shifted = x * 1.442_695_040_888_963_4 + 12_582_912
    let n = shifted - 12_582_912
    // ln2 split in two so n·ln2 is exact in float.
    let r = x - n * 0.693_359_375 + n * 2.121_944_400_546_905_8e-4
    var p = Vector(repeating: 1.987_569_150_0e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    p = p * r * r + r + 1
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let exponent = (integer &+ 127) &<< 23
    return p * unsafeBitCast(exponent, to: Vector.self)
  }
}
