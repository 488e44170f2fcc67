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

  /// Layer normalisation of each row in place: (x − mean) / √(var + ε) · γ + β
  /// (`weft_layer_norm_rows`: sums in vectors, with AVX2 and FMA when the CPU has them).
  public static func layerNorm(
    _ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
    epsilon: Float
  ) {
    weft_layer_norm_rows(x, Int32(rows), Int32(columns), gamma, beta, epsilon)
  }

  /// GELU in its exact (erf) form, in place: x · ½ · (1 + erf(x / √2)) (`weft_gelu`: with
  /// AVX2 and FMA when the CPU has them, which Swift code compiled for baseline x86-64 cannot use).
  public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
    weft_gelu(x, Int32(count))
  }

  /// Softmax of each row in place over its first `valid` columns; the rest become 0
  /// (masked positions, e.g. padding). In C (`weft_softmax_rows`), with AVX2 and FMA when
  /// the CPU has them.
  public static func softmax(_ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int, valid: Int) {
    weft_softmax_rows(x, Int32(rows), Int32(columns), Int32(valid))
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
