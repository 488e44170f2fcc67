import COpenBLAS
import CWeftKernels

/// Single-precision matrix products through OpenBLAS's `cblas_sgemm`. Row-major.
///
/// The only place in `WeftModels`, with the other kernels, that touches OpenBLAS.
public enum Gemm {
  /// `c[m×n] = alpha · a[m×k] · op(b) + beta · c`, where `op(b)` is `b[k×n]`, or the
  /// transpose of `b[n×k]` when `bTransposed` (PyTorch's `Linear` weight layout, y = x·Wᵀ).
  public static func multiply(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>,
    m: Int, n: Int, k: Int, bTransposed: Bool, alpha: Float = 1, beta: Float = 0
  ) {
    precondition(m >= 0 && n >= 0 && k >= 0, "matrix sizes must not be negative")
    guard m > 0, n > 0 else { return }
    cblas_sgemm(
      CblasRowMajor, CblasNoTrans, bTransposed ? CblasTrans : CblasNoTrans,
      Int32(m), Int32(n), Int32(k), alpha, a, Int32(k), b, Int32(bTransposed ? k : n), beta, c, Int32(n))
  }

  /// The general form with leading dimensions, for views into wider matrices (such as
  /// one attention head's columns): `a` is m×k with row stride `lda`, `b` is k×n (or n×k
  /// when transposed) with row stride `ldb`, `c` is m×n with row stride `ldc`.
  public static func multiply(
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, into c: UnsafeMutablePointer<Float>,
    ldc: Int, m: Int, n: Int, k: Int, bTransposed: Bool, alpha: Float = 1, beta: Float = 0
  ) {
    guard m > 0, n > 0 else { return }
    cblas_sgemm(
      CblasRowMajor, CblasNoTrans, bTransposed ? CblasTrans : CblasNoTrans,
      Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
  }

  /// A linear layer in PyTorch's layout: `output[rows × outputs] = input[rows × inputs] ·
  /// weightᵀ + bias`, with `weight` as `[outputs × inputs]`. The bias is written first and
  /// the product added onto it (`beta = 1`), which spares both a separate bias pass and
  /// sgemm's own pass to clear the output.
  public static func linear(
    _ input: UnsafePointer<Float>, rows: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    outputs: Int, inputs: Int, into output: UnsafeMutablePointer<Float>
  ) {
    for row in 0..<rows { (output + row * outputs).update(from: bias, count: outputs) }
    multiply(
      input, lda: inputs, weight, ldb: inputs, into: output, ldc: outputs, m: rows, n: outputs, k: inputs, bTransposed: true,
      beta: 1)
  }

  /// ``linear(_:rows:weight:bias:outputs:inputs:into:)`` with the weight
  /// input-major, `weightByInput` as `[inputs × outputs]` (the layout of the vision
  /// model's 1×1 convolutions).
  public static func linear(
    _ input: UnsafePointer<Float>, rows: Int, weightByInput: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    outputs: Int, inputs: Int, into output: UnsafeMutablePointer<Float>
  ) {
    for row in 0..<rows { (output + row * outputs).update(from: bias, count: outputs) }
    multiply(
      input, lda: inputs, weightByInput, ldb: outputs, into: output, ldc: outputs, m: rows, n: outputs, k: inputs,
      bTransposed: false, beta: 1)
  }

  /// `y[rows] = a[rows×columns] · x[columns] + beta · y`, row-major `a`: one score per
  /// row (`beta = 1` adds onto what `y` holds).
  public static func multiply(
    _ a: UnsafePointer<Float>, vector x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, columns: Int,
    beta: Float = 0
  ) {
    guard rows > 0 else { return }
    guard columns > 0 else {
      if beta == 0 { y.update(repeating: 0, count: rows) }
      return
    }
    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(columns), 1, a, Int32(columns), x, 1, beta, y, 1)
  }

  /// Sets the number of threads OpenBLAS uses for later calls.
  public static func setThreads(_ count: Int) { openblas_set_num_threads(Int32(max(1, count))) }
}

extension Gemm {
  /// Rows at or below which the speech model uses ``linearFewRows`` instead
  /// of sgemm: OpenBLAS packs the whole weight matrix on every call, which costs more than the
  /// product itself for a few rows. The crossover depends on the shape (`weft-bench
  /// kernels`, one core, weights read from memory as in a forward pass): for 384- and
  /// 320-wide inputs the unpacked kernel is 1.0–2.0× sgemm's speed up to 16 rows, for the
  /// 1,536-wide input 0.85–1.2× at 12–16;
  /// for narrow layers (96 × 16, 128 × 64) sgemm is ahead from 4–8 rows, so 8 is at
  /// the edge for the speech model's narrow products (not changed without its own
  /// measurement).
  public static let fewRows = 8

  /// ``linear(_:rows:weight:bias:outputs:inputs:into:)`` with the kernel chosen by
  /// rows: ``linearFewRows`` up to `unpackedRows`, sgemm above. `bias` nil means none.
  public static func linear(
    _ input: UnsafePointer<Float>, rows: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    outputs: Int, inputs: Int, into output: UnsafeMutablePointer<Float>, unpackedRows: Int
  ) {
    if rows <= unpackedRows {
      linearFewRows(input, rows: rows, weight: weight, bias: bias, outputs: outputs, inputs: inputs, into: output)
    } else if let bias {
      linear(input, rows: rows, weight: weight, bias: bias, outputs: outputs, inputs: inputs, into: output)
    } else {
      multiply(
        input, lda: inputs, weight, ldb: inputs, into: output, ldc: outputs, m: rows, n: outputs, k: inputs, bTransposed: true)
    }
  }

  /// ``linear(_:rows:weight:bias:outputs:inputs:into:)`` for a handful of rows, without
  /// packing: each weight row is read once per twelve input rows (four for a few) and dotted with them in
  /// SIMD registers (AVX2 and FMA when the CPU has them, chosen at run time). `bias` nil
  /// means none.
  public static func linearFewRows(
    _ input: UnsafePointer<Float>, rows: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    outputs: Int, inputs: Int, into output: UnsafeMutablePointer<Float>
  ) {
    weft_linear_few_rows(input, Int32(rows), weight, bias, Int32(outputs), Int32(inputs), output)
  }
}
