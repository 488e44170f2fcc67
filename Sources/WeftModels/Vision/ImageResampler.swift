/// Resizes 8-bit RGB images to the model's square input, in floating point.
///
/// The filter is an antialiased bilinear (triangle) filter: when shrinking, its support
/// widens with the reduction factor, so every source pixel contributes and fine detail
/// does not alias. This is the filter of Pillow's `Image.resize(..., BILINEAR)`; the two
/// agree to within one grey level (Pillow rounds to 8 bits between its passes, this keeps
/// floats throughout).
public enum ImageResampler {
  /// A source rectangle, in pixels; fractional edges are allowed.
  public struct Region: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    /// Creates a region.
    public init(x: Double, y: Double, width: Double, height: Double) {
      self.x = x
      self.y = y
      self.width = width
      self.height = height
    }

    /// The whole image.
    public static func whole(_ image: RGBImage) -> Region {
      Region(x: 0, y: 0, width: Double(image.width), height: Double(image.height))
    }

    /// The central square whose side is `fraction` of the image's shorter side.
    public static func centerSquare(of image: RGBImage, fraction: Double) -> Region {
      let side = Double(min(image.width, image.height)) * fraction
      return Region(x: (Double(image.width) - side) / 2, y: (Double(image.height) - side) / 2, width: side, height: side)
    }
  }

  /// `region` of `image` resampled to `width × height`, as interleaved RGB floats on the
  /// 0–255 scale.
  public static func resample(_ image: RGBImage, region: Region, width: Int, height: Int) -> [Float] {
    let columns = FilterTaps(input: image.width, output: width, origin: region.x, extent: region.width)
    let rows = FilterTaps(input: image.height, output: height, origin: region.y, extent: region.height)
    // Horizontal pass over just the source rows the vertical pass reads.
    let firstRow = rows.first.min() ?? 0
    let lastRow = zip(rows.first, rows.count).map { $0 + $1 }.max() ?? 0
    var horizontal = [Float](repeating: 0, count: max(0, lastRow - firstRow) * width * 3)
    image.pixels.withUnsafeBufferPointer { source in
      horizontal.withUnsafeMutableBufferPointer { out in
        for row in firstRow..<lastRow {
          let sourceRow = row * image.width * 3
          let outRow = (row - firstRow) * width * 3
          for column in 0..<width {
            var red: Float = 0, green: Float = 0, blue: Float = 0
            for tap in 0..<columns.count[column] {
              let weight = columns.weight(tap, of: column)
              let pixel = sourceRow + (columns.first[column] + tap) * 3
              red += weight * Float(source[pixel])
              green += weight * Float(source[pixel + 1])
              blue += weight * Float(source[pixel + 2])
            }
            out[outRow + column * 3] = red
            out[outRow + column * 3 + 1] = green
            out[outRow + column * 3 + 2] = blue
          }
        }
      }
    }
    var result = [Float](repeating: 0, count: width * height * 3)
    let rowLength = width * 3
    horizontal.withUnsafeBufferPointer { source in
      result.withUnsafeMutableBufferPointer { out in
        for row in 0..<height {
          let target = out.baseAddress! + row * rowLength
          for tap in 0..<rows.count[row] {
            let weight = rows.weight(tap, of: row)
            let line = source.baseAddress! + (rows.first[row] + tap - firstRow) * rowLength
            for index in 0..<rowLength { target[index] += weight * line[index] }
          }
        }
      }
    }
    return result
  }
}

/// For each output position along one axis, the source pixels it reads and their weights.
struct FilterTaps {
  /// First source pixel of each output position.
  private(set) var first: [Int] = []
  /// Number of source pixels of each output position.
  private(set) var count: [Int] = []
  private var weights: [Float] = []
  private let stride: Int

  /// Taps for mapping `extent` source pixels starting at `origin` onto `output` pixels,
  /// clipped to the `input` pixels that exist.
  init(input: Int, output: Int, origin: Double, extent: Double) {
    let scale = extent / Double(output)
    let filterScale = max(scale, 1)
    let support = filterScale  // the triangle's half-width is one pixel, widened when shrinking
    stride = Int(support.rounded(.up)) * 2 + 1
    weights = [Float](repeating: 0, count: stride * output)
    for position in 0..<output {
      let center = origin + (Double(position) + 0.5) * scale
      let low = max(Int((center - support + 0.5).rounded(.down)), 0)
      let high = min(Int((center + support + 0.5).rounded(.down)), input)
      var taps: [Double] = []
      for source in low..<max(low, high) {
        taps.append(max(0, 1 - abs((Double(source) - center + 0.5) / filterScale)))
      }
      let total = taps.reduce(0, +)
      first.append(low)
      count.append(taps.count)
      for (tap, weight) in taps.enumerated() {
        weights[position * stride + tap] = Float(total > 0 ? weight / total : 0)
      }
    }
  }

  func weight(_ tap: Int, of position: Int) -> Float { weights[position * stride + tap] }
}
