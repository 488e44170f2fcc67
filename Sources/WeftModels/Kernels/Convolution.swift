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
  /// each tap is one vector multiply-add across a pixel's channels.
  public static func depthwiseReLU6(
    _ input: UnsafePointer<Float>, geometry g: Geometry, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    into output: UnsafeMutablePointer<Float>, rows: Range<Int>
  ) {
    let channels = g.channels
    let vectorChannels = channels - channels % 8
    let out = g.outputSize
    let zero = SIMD8<Float>(repeating: 0), six = SIMD8<Float>(repeating: 6)
    for row in rows {
      let (image, oy) = row.quotientAndRemainder(dividingBy: out)
      let top = oy * g.stride - g.padding.before
      let kyRange = max(0, -top)..<min(g.kernel, g.size - top)
      let imageBase = input + image * g.size * g.size * channels
      for ox in 0..<out {
        let left = ox * g.stride - g.padding.before
        let kxRange = max(0, -left)..<min(g.kernel, g.size - left)
        let target = output + (row * out + ox) * channels
        var c = 0
        while c < vectorChannels {
          var sum = UnsafeRawPointer(bias + c).loadUnaligned(as: SIMD8<Float>.self)
          for ky in kyRange {
            let line = imageBase + ((top + ky) * g.size + left) * channels + c
            let tapRow = weights + ky * g.kernel * channels + c
            for kx in kxRange {
              let pixel = UnsafeRawPointer(line + kx * channels).loadUnaligned(as: SIMD8<Float>.self)
              let weight = UnsafeRawPointer(tapRow + kx * channels).loadUnaligned(as: SIMD8<Float>.self)
              sum += pixel * weight
            }
          }
          // `replacing(with:where:)` rather than `clamped`, whose min and max stay generic calls.
          sum = sum.replacing(with: zero, where: sum .< zero).replacing(with: six, where: sum .> six)
          UnsafeMutableRawPointer(target + c).storeBytes(of: sum, as: SIMD8<Float>.self)
          c += 8
        }
        while c < channels {
          var sum = bias[c]
          for ky in kyRange {
            for kx in kxRange {
              sum += imageBase[((top + ky) * g.size + left + kx) * channels + c] * weights[(ky * g.kernel + kx) * channels + c]
            }
          }
          target[c] = min(max(sum, 0), 6)
          c += 1
        }
      }
    }
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
