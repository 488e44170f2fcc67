import CWeftKernels

/// 2-D convolution kernels over NHWC float32 activations (channels innermost, so a
/// pixel's channels are contiguous and a 1×1 convolution is a plain matrix product).
public enum Convolution {
  /// TensorFlow's "SAME" padding along one axis: the output size is ⌈input / stride⌉
  /// and the padding that needs is split with the smaller half before, the larger after
  /// (so stride 2 pads only at the end of an even input).
  public struct SamePadding: Sendable, Equatable {
    /// Output size along the axis.
    public let output: Int
    /// Zero pixels added before the first input pixel.
    public let before: Int

    /// The padding for `input` pixels, a `kernel`-wide window and `stride`.
    public init(input: Int, kernel: Int, stride: Int) {
      output = (input + stride - 1) / stride
      let total = max((output - 1) * stride + kernel - input, 0)
      before = total / 2
    }
  }

  /// The shape of one depthwise (or stem) convolution over a batch of square images.
  public struct Geometry: Sendable, Equatable {
    public let size: Int, channels: Int, kernel: Int, stride: Int
    public let padding: SamePadding
    /// Output side length.
    public var outputSize: Int { padding.output }

    /// A `kernel × kernel` convolution with `stride` over `size × size × channels` inputs.
    public init(size: Int, channels: Int, kernel: Int, stride: Int) {
      self.size = size
      self.channels = channels
      self.kernel = kernel
      self.stride = stride
      padding = SamePadding(input: size, kernel: kernel, stride: stride)
    }
  }

  /// Depthwise convolution plus bias, clamped to [0, 6] (ReLU6), for the output rows
  /// `rows` of a batch (row `r` is image `r / outputSize`, line `r % outputSize`).
  ///
  /// `weights` is `[kernel · kernel × channels]` (tap-major, channels contiguous), so
  /// each tap is one vector multiply-add across a pixel's channels. The loop is C
  /// (`CWeftKernels`), compiled twice: AVX2 with FMA, chosen at run time when the CPU
  /// has them, and baseline x86-64, which is all Swift's own SIMD code gets.
  public static func depthwiseReLU6(
    _ input: UnsafePointer<Float>, geometry g: Geometry, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    into output: UnsafeMutablePointer<Float>, rows: Range<Int>, portable: Bool = false
  ) {
    var shape = weft_depthwise_geometry(
      size: Int32(g.size), channels: Int32(g.channels), kernel: Int32(g.kernel), stride: Int32(g.stride),
      pad_before: Int32(g.padding.before), output_size: Int32(g.outputSize))
    let run = portable ? weft_depthwise_relu6_portable : weft_depthwise_relu6
    run(input, &shape, weights, bias, output, Int32(rows.lowerBound), Int32(rows.upperBound))
  }

  /// Whether ``pointwise(_:rows:inputs:weightByInput:bias:outputs:columns:residual:into:clamp:kernel:)``
  /// runs its AVX-512 build on this CPU.
  public static let pointwiseRunsAVX512 = weft_cpu_has_avx512_skylake() != 0

  /// Which build of ``pointwise(_:rows:inputs:weightByInput:bias:outputs:columns:residual:into:clamp:kernel:)``
  /// runs: tests check each against the same product.
  public enum PointwiseKernel: Sendable, CaseIterable {
    /// AVX-512 or AVX2 and FMA, as the CPU has them.
    case widest
    /// AVX2 and FMA even where AVX-512 is there (the portable loop without AVX2).
    case avx2
    /// No instructions beyond the baseline x86-64 (or other) target.
    case portable
  }

  /// `output[r][o] = input[r] · weightByInput[·][o] + bias[o]` for the `columns` output
  /// columns starting at `first` of a 1×1 convolution with `outputs` in all, clamped to
  /// [0, 6] if `clamp`, then plus `residual[r][o]` if given (same layout as `output`).
  /// `weightByInput` is `[inputs × outputs]` (input-major, the transpose of PyTorch's
  /// layout). In C, with the widest vectors the CPU has unless `kernel` says otherwise.
  public static func pointwise(
    _ input: UnsafePointer<Float>, rows: Int, inputs: Int, weightByInput: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    outputs: Int, columns: Range<Int>, residual: UnsafePointer<Float>? = nil, into output: UnsafeMutablePointer<Float>,
    clamp: Bool, kernel: PointwiseKernel = .widest
  ) {
    guard rows > 0, !columns.isEmpty else { return }
    let run = switch kernel {
    case .widest: weft_pointwise
    case .avx2: weft_pointwise_avx2
    case .portable: weft_pointwise_portable
    }
    let first = columns.lowerBound
    run(
      input, Int32(rows), Int32(inputs), weightByInput + first, Int32(outputs), bias + first, Int32(columns.count),
      residual.map { $0 + first }, output + first, Int32(outputs), clamp ? 1 : 0)
  }

  /// Unfolds the patches of a full convolution into rows, for a matrix product: row
  /// `(image, oy, ox)` holds the `kernel × kernel × channels` window (zeros where it
  /// hangs over the padding), ordered tap-major then channel. Writes the output rows
  /// `rows` (as in ``depthwiseReLU6``).
  public static func unfoldPatches(
    _ input: UnsafePointer<Float>, geometry g: Geometry, into patches: UnsafeMutablePointer<Float>, rows: Range<Int>
  ) {
    let out = g.outputSize
    let width = g.kernel * g.kernel * g.channels
    for row in rows {
      let (image, oy) = row.quotientAndRemainder(dividingBy: out)
      let imageBase = input + image * g.size * g.size * g.channels
      for ox in 0..<out {
        let target = patches + (row * out + ox) * width
        for ky in 0..<g.kernel {
          let y = oy * g.stride - g.padding.before + ky
          for kx in 0..<g.kernel {
            let x = ox * g.stride - g.padding.before + kx
            let tap = target + (ky * g.kernel + kx) * g.channels
            if y >= 0, y < g.size, x >= 0, x < g.size {
              tap.update(from: imageBase + (y * g.size + x) * g.channels, count: g.channels)
            } else {
              tap.update(repeating: 0, count: g.channels)
            }
          }
        }
      }
    }
  }
}
