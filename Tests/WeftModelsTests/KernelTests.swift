import CWeftKernels
import Foundation
import Testing

@testable import WeftModels

@Suite struct KernelTests {
  @Test func vectorExpMatchesGlibcWithinARelativeUlpOrTwo() {
    var worst: Float = 0
    var x: Float = -87
    while x < 88 {
      let lanes = FastMath.Vector((0..<8).map { x + Float($0) * 0.0137 })
      let fast = FastMath.exp(lanes)
      for lane in 0..<8 { worst = max(worst, abs(fast[lane] - expf(lanes[lane])) / expf(lanes[lane])) }
      x += 0.173
    }
    #expect(worst < 3e-7, "worst relative error \(worst)")
  }

  /// A&S 7.1.26 is within 1.5e-7 in exact arithmetic; evaluating it in float32 adds
  /// rounding (measured at 4.1e-7 for erf), far inside the model's 1e-4 tolerance. Both
  /// builds of the kernel (AVX2+FMA where this CPU has them, and the portable one) are checked.
  @Test(arguments: [true, false]) func geluMatchesGlibcsErfWithin5e7(vectorUnits: Bool) {
    var values: [Float] = []
    var x: Float = -6
    while x < 6 {
      values.append(x)
      x += 0.00091
    }
    var gelu = values
    gelu.withUnsafeMutableBufferPointer { buffer in
      if vectorUnits { weft_gelu(buffer.baseAddress!, Int32(buffer.count)) } else { weft_gelu_portable(buffer.baseAddress!, Int32(buffer.count)) }
    }
    let worst = zip(values, gelu).map { x, fast in abs(fast - 0.5 * x * (1 + erff(x / Float(2).squareRoot()))) / max(1, abs(x)) }.max()!
    #expect(worst < 5e-7, "worst error \(worst)")
  }

  /// Rows of several lengths (masked tails, fewer than eight valid columns), both builds
  /// of the kernel, against softmax in Double.
  @Test(arguments: [true, false]) func softmaxMatchesAReferenceWithin1e6(vectorUnits: Bool) {
    let (rows, columns) = (5, 37)
    let values: [Float] = (0..<rows * columns).map { Float(($0 * 7_919) % 1_000) / 100 - 5 }
    for valid in [1, 5, 8, 29, 37] {
      var result = values
      result.withUnsafeMutableBufferPointer { buffer in
        let (x, r, c, v) = (buffer.baseAddress!, Int32(rows), Int32(columns), Int32(valid))
        if vectorUnits { weft_softmax_rows(x, r, c, v) } else { weft_softmax_rows_portable(x, r, c, v) }
      }
      for row in 0..<rows {
        let line = values[row * columns..<row * columns + valid].map(Double.init)
        let exps = line.map { Foundation.exp($0 - line.max()!) }
        let expected = exps.map { $0 / exps.reduce(0, +) } + Array(repeating: 0, count: columns - valid)
        let worst = zip(result[row * columns..<(row + 1) * columns], expected).map { abs(Double($0) - $1) }.max()!
        #expect(worst < 1e-6, "valid \(valid), row \(row): \(worst)")
      }
    }
  }

  @Test func geluAndSoftmaxHandleLengthsThatAreNotMultiplesOfEight() {
    var values: [Float] = (0..<21).map { Float($0) / 3 - 3.5 }
    let expected = values.map { 0.5 * $0 * (1 + erff($0 / Float(2).squareRoot())) }
    values.withUnsafeMutableBufferPointer { Elementwise.gelu($0.baseAddress!, count: $0.count) }
    #expect(zip(values, expected).allSatisfy { abs($0 - $1) < 1e-6 })

    var row: [Float] = (0..<13).map { Float($0) * 0.7 } + [99, 99, 99]  // 3 masked positions
    row.withUnsafeMutableBufferPointer { Elementwise.softmax($0.baseAddress!, rows: 1, columns: 16, valid: 13) }
    #expect(abs(row.prefix(13).reduce(0, +) - 1) < 1e-6)
    #expect(row.suffix(3) == [0, 0, 0])
    #expect(row[12] > row[11])
  }
}

/// OpenBLAS's kernel choice: a fallback core on a CPU with AVX2 or AVX-512 is replaced,
/// a good choice or one set by hand is left alone.
@Suite struct BLASCoreTests {
  @Test func aFallbackCoreIsReplacedOnlyWhenTheCPUHasBetter() {
    let hasAVX512 = weft_cpu_has_avx512_skylake() != 0
    let hasAVX2 = weft_cpu_has_avx2_fma() != 0
    let expected: String? = hasAVX512 ? "SkylakeX" : hasAVX2 ? "Haswell" : nil
    #expect(BLASCore.betterCoreType(current: "Prescott", environment: [:]) == expected)
    #expect(BLASCore.betterCoreType(current: "Prescott", environment: ["OPENBLAS_CORETYPE": "Prescott"]) == nil, "set by hand")
    #expect(BLASCore.betterCoreType(current: "Haswell", environment: [:]) == nil)
    #expect(BLASCore.betterCoreType(current: "SkylakeX", environment: [:]) == nil)
  }
}
