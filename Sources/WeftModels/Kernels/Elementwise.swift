import CWeftKernels

#if canImport(Glibc)
import Glibc
#endif

/// Row-wise and element-wise float32 kernels. Plain loops over contiguous memory, which
/// the compiler vectorises; the heavy work of the models is in ``Gemm``.
public enum Elementwise {
  /// `x += y`, element-wise, over `count` floats.
  public static func add(_ y: UnsafePointer<Float>, to x: UnsafeMutablePointer<Float>, count: Int) {
    for index in 0..<count { x[index] += y[index] }
  }

  /// Layer normalisation of each row in place: (x − mean) / √(var + ε) · γ + β.
  public static func layerNorm(
    _ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
    epsilon: Float
  ) {
    let n = Float(columns)
    for row in 0..<rows {
      let line = x + row * columns
      var sum: Float = 0
      for column in 0..<columns { sum += line[column] }
      let mean = sum / n
      var squares: Float = 0
      for column in 0..<columns {
        let centred = line[column] - mean
        squares += centred * centred
      }
      let scale = 1 / (squares / n + epsilon).squareRoot()
      for column in 0..<columns { line[column] = (line[column] - mean) * scale * gamma[column] + beta[column] }
    }
  }

  /// GELU in its exact (erf) form, in place: x · ½ · (1 + erf(x / √2)) (`weft_gelu`: with
  /// AVX2 and FMA when the CPU has them, which Swift code compiled for baseline x86-64 cannot use).
  public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
    weft_gelu(x, Int32(count))
  }

  /// Softmax of each row in place over its first `valid` columns; the rest become 0
  /// (masked positions, e.g. padding). Eight columns at a time, the tail one by one.
  public static func softmax(_ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int, valid: Int) {
    typealias Vector = FastMath.Vector
    let whole = valid - valid % 8
    for row in 0..<rows {
      let line = x + row * columns
      let raw = UnsafeMutableRawPointer(line)
      var maxima = Vector(repeating: -.infinity)
      for column in stride(from: 0, to: whole, by: 8) {
        // `replacing(with:where:)` rather than `pointwiseMax`, which stays a generic call.
        let value = raw.loadUnaligned(fromByteOffset: column * 4, as: Vector.self)
        maxima = maxima.replacing(with: value, where: value .> maxima)
      }
      var maximum = maxima.max()
      for column in whole..<valid { maximum = max(maximum, line[column]) }
      var sums = Vector.zero
      for column in stride(from: 0, to: whole, by: 8) {
        let value = FastMath.exp(raw.loadUnaligned(fromByteOffset: column * 4, as: Vector.self) - maximum)
        raw.storeBytes(of: value, toByteOffset: column * 4, as: Vector.self)
        sums += value
      }
      var sum = sums.sum()
      for column in whole..<valid {
        line[column] = expf(line[column] - maximum)
        sum += line[column]
      }
      let inverse = 1 / sum
      for column in stride(from: 0, to: whole, by: 8) {
        let value = raw.loadUnaligned(fromByteOffset: column * 4, as: Vector.self) * inverse
        raw.storeBytes(of: value, toByteOffset: column * 4, as: Vector.self)
      }
      for column in whole..<valid { line[column] *= inverse }
      for column in valid..<columns { line[column] = 0 }
    }
  }
}

extension Elementwise {
  /// ReLU6 in place: each value clamped to [0, 6].
  public static func relu6(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for index in 0..<count { x[index] = min(max(x[index], 0), 6) }
  }

  /// ReLU in place: negative values become 0.
  public static func relu(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for index in 0..<count { x[index] = max(x[index], 0) }
  }
}
