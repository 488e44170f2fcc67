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
  /// `rows` of a batch (row `r` is image `r / outputSize`, line `r % outputSize`) and the
  /// `channels` given (all by default).
  ///
  /// The batch's input rows count image after image (row `image · size + y`): `input`
  /// holds them from `inputFirstRow` on, and `output` the output rows from
  /// `outputFirstRow` on, so a band of one image's rows can be read from and written to
  /// buffers of that band alone.
  ///
  /// `weights` is `[kernel · kernel × channels]` (tap-major, channels contiguous), so
  /// each tap is one vector multiply-add across a pixel's channels. 3×3 and 5×5 kernels
  /// go seven output pixels at a time, each input pixel loaded once per kernel row for all
  /// seven. In C (`CWeftKernels`), with the widest vectors the CPU has unless `build` says
  /// otherwise: Swift's own SIMD code gets only baseline x86-64.
  public static func depthwiseReLU6(
    _ input: UnsafePointer<Float>, geometry g: Geometry, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    into output: UnsafeMutablePointer<Float>, rows: Range<Int>, channels: Range<Int>? = nil, inputFirstRow: Int = 0,
    outputFirstRow: Int = 0, build: KernelBuild = .widest
  ) {
    let channels = channels ?? 0..<g.channels
    var shape = weft_depthwise_geometry(
      size: Int32(g.size), channels: Int32(g.channels), kernel: Int32(g.kernel), stride: Int32(g.stride),
      pad_before: Int32(g.padding.before), output_size: Int32(g.outputSize))
    let run = switch build {
    case .widest: weft_depthwise_relu6
    case .avx2: weft_depthwise_relu6_avx2
    case .portable: weft_depthwise_relu6_portable
    }
    run(
      input, Int32(inputFirstRow), &shape, weights, bias, output, Int32(outputFirstRow), Int32(rows.lowerBound),
      Int32(rows.upperBound), Int32(channels.lowerBound), Int32(channels.upperBound))
  }

  /// Whether ``pointwise(_:rows:inputs:weights:layout:bias:outputs:columns:residual:into:clamp:build:)``
  /// runs its AVX-512 build on this CPU.
  public static let pointwiseRunsAVX512 = weft_cpu_has_avx512_skylake() != 0

  /// Which build of a C kernel runs (``depthwiseReLU6(_:geometry:weights:bias:into:rows:channels:inputFirstRow:outputFirstRow:build:)``,
  /// ``pointwise(_:rows:inputs:weights:layout:bias:outputs:columns:residual:into:clamp:build:)``):
  /// tests check each against the same reference.
  public enum KernelBuild: Sendable, CaseIterable {
    /// AVX-512 or AVX2 and FMA, as the CPU has them.
    case widest
    /// AVX2 and FMA even where AVX-512 is there (the portable loop without AVX2).
    case avx2
    /// No instructions beyond the baseline x86-64 (or other) target.
    case portable
  }

  /// How a 1×1 convolution's weights are laid out for
  /// ``pointwise(_:rows:inputs:weights:layout:bias:outputs:columns:residual:into:clamp:build:)``.
  public enum WeightLayout: Sendable, CaseIterable {
    /// `[inputs × outputs]`: input `k`'s weights for every output in a row (the transpose of
    /// PyTorch's layout; sgemm reads it too).
    case inputMajor
    /// Output columns in panels of ``panelWidth``, each `[inputs × panelWidth]` and the last
    /// zero-padded: a tile reads its weights in order, input after input, which streams from
    /// memory at about twice the speed of reading `inputMajor` rows a tile's width at a time
    /// (the classifier at batch 1: 73 against 206 µs on one core, docs/BENCHMARKS.md).
    case panels

    /// Output columns in one panel.
    public static let panelWidth = 16

    /// Floats the weights of `inputs × outputs` take in this layout.
    public func count(inputs: Int, outputs: Int) -> Int {
      switch self {
      case .inputMajor: inputs * outputs
      case .panels: inputs * (outputs + Self.panelWidth - 1) / Self.panelWidth * Self.panelWidth
      }
    }

    /// Where the weight of input `input` for output `output` is.
    public func index(input: Int, output: Int, inputs: Int, outputs: Int) -> Int {
      switch self {
      case .inputMajor: input * outputs + output
      case .panels: (output / Self.panelWidth * inputs + input) * Self.panelWidth + output % Self.panelWidth
      }
    }

    /// `weight`, in PyTorch's `[outputs × inputs]` layout, laid out this way (padding 0),
    /// each output's weights multiplied by `scale[output]` if given.
    public func relaid<Weights: RandomAccessCollection<Float>>(_ weight: Weights, outputs: Int, scale: [Float]? = nil) -> [Float]
    where Weights.Index == Int {
      let (inputs, first) = (weight.count / outputs, weight.startIndex)
      var relaid = [Float](repeating: 0, count: count(inputs: inputs, outputs: outputs))
      for output in 0..<outputs {
        let factor = scale?[output] ?? 1
        for input in 0..<inputs {
          relaid[index(input: input, output: output, inputs: inputs, outputs: outputs)] = weight[first + output * inputs + input] * factor
        }
      }
      return relaid
    }
  }

  /// `output[r][o] = input[r] · weight[·][o] + bias[o]` for the `columns` output columns of
  /// a 1×1 convolution with `outputs` in all, clamped to [0, 6] if `clamp`, then plus
  /// `residual[r][o]` if given (same layout as `output`). `weights` is laid out as `layout`
  /// says; with `.panels`, `columns` starts at a panel's first column. In C, with the widest
  /// vectors the CPU has unless `build` says otherwise.
  public static func pointwise(
    _ input: UnsafePointer<Float>, rows: Int, inputs: Int, weights: UnsafePointer<Float>, layout: WeightLayout,
    bias: UnsafePointer<Float>, outputs: Int, columns: Range<Int>, residual: UnsafePointer<Float>? = nil,
    into output: UnsafeMutablePointer<Float>, clamp: Bool, build: KernelBuild = .widest
  ) {
    guard rows > 0, !columns.isEmpty else { return }
    let run = switch build {
    case .widest: weft_pointwise
    case .avx2: weft_pointwise_avx2
    case .portable: weft_pointwise_portable
    }
    let (first, width) = (columns.lowerBound, WeightLayout.panelWidth)
    // The kernel finds column o's weights at `(o / 16) · panelStride + o % 16`, input k's `k · weightStride` on.
    let (firstWeight, weightStride, panelStride) =
      switch layout {
      case .inputMajor: (weights + first, outputs, width)
      case .panels: (weights + first * inputs, width, width * inputs)
      }
    precondition(layout == .inputMajor || first % width == 0, "a column range of panels starts at a panel")
    run(
      input, Int32(rows), Int32(inputs), firstWeight, Int32(weightStride), Int32(panelStride), bias + first, Int32(columns.count),
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
