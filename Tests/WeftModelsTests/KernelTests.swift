import CWeftKernels
import Foundation
import Testing
import WeftProtocol

@testable import WeftModels

@Suite struct KernelTests {
  /// One LSTM cell step of the speech model, both builds. With the forget and candidate
  /// gates saturated and the cell at 0, the new cell is sigmoid(input gate), which shows
  /// the polynomial exp's relative error down to e⁻⁸⁷; random gates check the whole step
  /// against Double.
  @Test(arguments: [true, false]) func lstmCellMatchesAReferenceInDouble(vectorUnits: Bool) {
    func step(_ gates: [Float], cell: inout [Float], decoder: [Float]) -> (hidden: [Float], logit: Float) {
      let size = cell.count
      var hidden = [Float](repeating: 0, count: size)
      let logit = hidden.withUnsafeMutableBufferPointer { h in
        cell.withUnsafeMutableBufferPointer { c in
          vectorUnits
            ? weft_lstm_cell(gates, h.baseAddress!, c.baseAddress!, decoder, Int32(size))
            : weft_lstm_cell_portable(gates, h.baseAddress!, c.baseAddress!, decoder, Int32(size))
        }
      }
      return (hidden, logit)
    }
    func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

    let inputs: [Float] = stride(from: -87, to: 20, by: 0.0731).map { Float($0) }
    let size = inputs.count / 8 * 8
    var cell = [Float](repeating: 0, count: size)
    let saturated = [Float](repeating: 30, count: size)
    _ = step(Array(inputs.prefix(size)) + saturated + saturated + saturated, cell: &cell, decoder: cell)
    let worstSigmoid = zip(inputs, cell).map { x, c in abs(Double(c) - sigmoid(Double(x))) / sigmoid(Double(x)) }.max()!
    #expect(worstSigmoid < 5e-7, "worst relative error of sigmoid \(worstSigmoid)")

    var random = SplitMix64(seed: 11)
    func uniform(_ range: ClosedRange<Float>) -> Float {
      range.lowerBound + Float(random.next() >> 40) / Float(1 << 24) * (range.upperBound - range.lowerBound)
    }
    let units = 128
    let gates = (0..<4 * units).map { _ in uniform(-6...6) }
    let decoder = (0..<units).map { _ in uniform(-1...1) }
    let before = (0..<units).map { _ in uniform(-2...2) }
    cell = before
    let (hidden, logit) = step(gates, cell: &cell, decoder: decoder)
    var expectedLogit = 0.0
    for unit in 0..<units {
      func gate(_ index: Int) -> Double { Double(gates[index * units + unit]) }
      let c = sigmoid(gate(1)) * Double(before[unit]) + sigmoid(gate(0)) * Foundation.tanh(gate(2))
      let h = sigmoid(gate(3)) * Foundation.tanh(c)
      #expect(abs(Double(cell[unit]) - c) < 1e-6 && abs(Double(hidden[unit]) - h) < 1e-6, "unit \(unit)")
      expectedLogit += max(h, 0) * Double(decoder[unit])
    }
    #expect(abs(Double(logit) - expectedLogit) < 1e-5)
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

  /// Rows whose lengths are and are not multiples of the kernel's sixteen-float step, an
  /// offset large against the spread (where a one-pass variance would lose digits), both
  /// builds, against layer normalisation in Double.
  @Test(arguments: [true, false]) func layerNormMatchesAReferenceWithin1e5(vectorUnits: Bool) {
    for columns in [3, 16, 37, 384] {
      let rows = 3
      let values: [Float] = (0..<rows * columns).map { 40 + Float(($0 * 7_919) % 1_000) / 100 }
      let gamma: [Float] = (0..<columns).map { 0.5 + Float($0 % 7) / 10 }
      let beta: [Float] = (0..<columns).map { Float($0 % 5) / 10 - 0.2 }
      var result = values
      result.withUnsafeMutableBufferPointer { buffer in
        let (x, r, c) = (buffer.baseAddress!, Int32(rows), Int32(columns))
        if vectorUnits { weft_layer_norm_rows(x, r, c, gamma, beta, 1e-12) } else { weft_layer_norm_rows_portable(x, r, c, gamma, beta, 1e-12) }
      }
      for row in 0..<rows {
        let line = values[row * columns..<(row + 1) * columns].map(Double.init)
        let mean = line.reduce(0, +) / Double(columns)
        let deviation = (line.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(columns) + 1e-12).squareRoot()
        let expected = line.indices.map { (line[$0] - mean) / deviation * Double(gamma[$0 - line.startIndex]) + Double(beta[$0 - line.startIndex]) }
        let worst = zip(result[row * columns..<(row + 1) * columns], expected).map { abs(Double($0) - $1) }.max()!
        #expect(worst < 1e-5, "\(columns) columns, row \(row): \(worst)")
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
