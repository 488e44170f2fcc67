import CWeftKernels
import Testing

@testable import WeftModels

@Suite struct GemmTests {
  /// A deterministic pseudo-random matrix in [-1, 1).
  private func matrix(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
    }
  }

  private func naive(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, bTransposed: Bool) -> [Float] {
    var c = [Float](repeating: 0, count: m * n)
    for row in 0..<m {
      for column in 0..<n {
        var sum: Double = 0
        for index in 0..<k {
          let bValue = bTransposed ? b[column * k + index] : b[index * n + column]
          sum += Double(a[row * k + index]) * Double(bValue)
        }
        c[row * n + column] = Float(sum)
      }
    }
    return c
  }

  @Test(arguments: [(1, 1, 1), (3, 5, 7), (17, 384, 384), (64, 33, 129)])
  func matchesANaiveProductInBothLayouts(shape: (Int, Int, Int)) {
    let (m, n, k) = shape
    let a = matrix(m * k, seed: 1)
    let b = matrix(k * n, seed: 2)
    for transposed in [false, true] {
      var c = [Float](repeating: .nan, count: m * n)
      Gemm.multiply(a, b, into: &c, m: m, n: n, k: k, bTransposed: transposed)
      let expected = naive(a, b, m: m, n: n, k: k, bTransposed: transposed)
      let worst = zip(c, expected).map { abs($0 - $1) }.max() ?? 0
      // Float32 accumulation over k terms of size ≤ 1: error grows like k·ε.
      #expect(worst <= Float(k) * 1e-6 + 1e-6, "m=\(m) n=\(n) k=\(k) transposed=\(transposed): \(worst)")
    }
  }

  @Test func accumulatesWithBeta() {
    let a: [Float] = [1, 2, 3, 4]  // 2×2
    let b: [Float] = [1, 0, 0, 1]  // identity
    var c: [Float] = [10, 10, 10, 10]
    Gemm.multiply(a, b, into: &c, m: 2, n: 2, k: 2, bTransposed: false, alpha: 2, beta: 1)
    #expect(c == [12, 14, 16, 18])
  }

  @Test func linearAddsTheBiasToTheProduct() {
    let input: [Float] = [1, 2, 3, 4, 5, 6]  // 2×3
    let weight: [Float] = [1, 0, 0, 0, 1, 1]  // 2 outputs × 3 inputs
    let bias: [Float] = [0.5, -1]
    var output = [Float](repeating: .nan, count: 4)
    Gemm.linear(input, rows: 2, weight: weight, bias: bias, outputs: 2, inputs: 3, into: &output)
    #expect(output == [1.5, 4, 4.5, 10])
    // With the weight input-major, `[3 inputs × 2 outputs]`: the same product.
    let byInput: [Float] = [1, 0, 0, 1, 0, 1]
    var fromByInput = [Float](repeating: .nan, count: 4)
    Gemm.linear(input, rows: 2, weightByInput: byInput, bias: bias, outputs: 2, inputs: 3, into: &fromByInput)
    #expect(fromByInput == [1.5, 4, 4.5, 10])
  }

  @Test("the few-rows kernel (both its AVX2 and portable paths) matches a naive product, bias or not",
        arguments: [(1, 258, 256), (4, 128, 387), (2, 64, 384), (5, 3, 7), (8, 512, 128), (11, 96, 384), (13, 40, 37), (24, 17, 9),
                   // Twelve-row groups over rows longer than one packed chunk (384), with and without a tail.
                   (11, 40, 1536), (12, 33, 1000), (9, 21, 1541)])
  func fewRowsKernel(shape: (Int, Int, Int)) {
    let (rows, outputs, inputs) = shape
    let input = matrix(rows * inputs, seed: 3)
    let weight = matrix(outputs * inputs, seed: 4)
    let bias = matrix(outputs, seed: 5)
    let product = naive(input, weight, m: rows, n: outputs, k: inputs, bTransposed: true)
    for withBias in [false, true] {
      let expected = withBias ? product.enumerated().map { $1 + bias[$0 % outputs] } : product
      var dispatched = [Float](repeating: .nan, count: rows * outputs)
      var portable = dispatched
      Gemm.linearFewRows(input, rows: rows, weight: weight, bias: withBias ? bias : nil, outputs: outputs, inputs: inputs, into: &dispatched)
      weft_linear_few_rows_portable(input, Int32(rows), weight, withBias ? bias : nil, Int32(outputs), Int32(inputs), &portable)
      for result in [dispatched, portable] {
        let worst = zip(result, expected).map { abs($0 - $1) }.max() ?? .nan
        #expect(worst < Float(inputs) * 2e-7, "\(shape), bias \(withBias): \(worst)")
      }
    }
  }
}
