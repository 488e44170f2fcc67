#if canImport(Glibc)
import Glibc
#endif

/// Row-wise and element-wise float32 kernels. Plain loops over contiguous memory, which
/// the compiler vectorises; the heavy work of the models is in ``Gemm``.
public enum Elementwise {
  /// Adds `bias[columns]` to every row of `x[rows × columns]`.
  public static func addBias(_ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int, bias: UnsafePointer<Float>) {
    for row in 0..<rows {
      let line = x + row * columns
      for column in 0..<columns { line[column] += bias[column] }
    }
  }

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

  /// GELU in its exact (erf) form, in place: x · ½ · (1 + erf(x / √2)), eight at a time.
  public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
    let inverseRootTwo: Float = 0.707_106_781_186_547_6
    let raw = UnsafeMutableRawPointer(x)
    var index = 0
    while index + 8 <= count {
      let value = raw.loadUnaligned(fromByteOffset: index * 4, as: FastMath.Vector.self)
      let result = 0.5 * value * (1 + FastMath.erf(value * inverseRootTwo))
      raw.storeBytes(of: result, toByteOffset: index * 4, as: FastMath.Vector.self)
      index += 8
    }
    for rest in index..<count {
      let value = x[rest]
      x[rest] = 0.5 * value * (1 + erff(value * inverseRootTwo))
    }
  }

  /// Softmax of each row in place over its first `valid` columns; the rest become 0
  /// (masked positions, e.g. padding).
  public static func softmax(_ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int, valid: Int) {
    for row in 0..<rows {
      let line = x + row * columns
      var maximum = -Float.infinity
      for column in 0..<valid { maximum = max(maximum, line[column]) }
      var sum: Float = 0
      let raw = UnsafeMutableRawPointer(line)
      var column = 0
      while column + 8 <= valid {
        let value = FastMath.exp(raw.loadUnaligned(fromByteOffset: column * 4, as: FastMath.Vector.self) - maximum)
        raw.storeBytes(of: value, toByteOffset: column * 4, as: FastMath.Vector.self)
        sum += value.sum()
        column += 8
      }
      for rest in column..<valid {
        let value = expf(line[rest] - maximum)
        line[rest] = value
        sum += value
      }
      let inverse = 1 / sum
      for column in 0..<valid { line[column] *= inverse }
      for column in valid..<columns { line[column] = 0 }
    }
  }
}
