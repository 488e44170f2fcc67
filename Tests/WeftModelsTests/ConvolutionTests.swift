import Testing

@testable import WeftModels

@Suite struct ConvolutionTests {
  @Test func samePaddingSplitsLikeTensorFlow() {
    // Stride 2 on an even input pads only after; stride 1 pads both sides equally.
    let stem = Convolution.SamePadding(input: 224, kernel: 3, stride: 2)
    #expect((stem.output, stem.before) == (112, 0))
    let wide = Convolution.SamePadding(input: 56, kernel: 5, stride: 2)
    #expect((wide.output, wide.before) == (28, 1))
    let flat = Convolution.SamePadding(input: 14, kernel: 5, stride: 1)
    #expect((flat.output, flat.before) == (14, 2))
    let odd = Convolution.SamePadding(input: 7, kernel: 3, stride: 2)
    #expect((odd.output, odd.before) == (4, 1))
  }

  /// A straightforward zero-padded reference, for the kernels to be checked against.
  private func naiveDepthwise(
    _ input: [Float], _ g: Convolution.Geometry, images: Int, weights: [Float], bias: [Float]
  ) -> [Float] {
    let (c, out) = (g.channels, g.outputSize)
    var result = [Float](repeating: 0, count: images * out * out * c)
    for n in 0..<images {
      for oy in 0..<out {
        for ox in 0..<out {
          for channel in 0..<c {
            var sum = bias[channel]
            for ky in 0..<g.kernel {
              for kx in 0..<g.kernel {
                let (y, x) = (oy * g.stride - g.padding.before + ky, ox * g.stride - g.padding.before + kx)
                guard y >= 0, y < g.size, x >= 0, x < g.size else { continue }
                sum += input[((n * g.size + y) * g.size + x) * c + channel] * weights[(ky * g.kernel + kx) * c + channel]
              }
            }
            result[((n * out + oy) * out + ox) * c + channel] = min(max(sum, 0), 6)
          }
        }
      }
    }
    return result
  }

  // 3×3 and 5×5 kernels go in strips of seven output pixels: rows of 9 and 16 leave 2 after
  // whole strips, rows of 4–6 are one short strip, a 3-pixel image is narrower than the
  // kernel. Channels past the last whole vector (12, 21, 40 at 16 wide; 12, 21 at 8) take
  // the per-pixel loop, as does the 7×7 kernel. The output goes in four calls, as lanes
  // split it: the rows split inside an image, the channels at half (not always a whole
  // vector: 6 of 12, 10 of 21).
  @Test(arguments: [
    (9, 3, 1, 16), (10, 5, 2, 12), (7, 3, 2, 8), (6, 5, 1, 21), (14, 5, 2, 32), (13, 3, 1, 48), (12, 3, 2, 16),
    (16, 5, 1, 40), (15, 3, 2, 24), (3, 5, 1, 16), (8, 7, 1, 16),
  ])
  func depthwiseMatchesTheNaiveConvolution(size: Int, kernel: Int, stride: Int, channels: Int) {
    let g = Convolution.Geometry(size: size, channels: channels, kernel: kernel, stride: stride)
    let images = 2
    var generator = SplitMix(seed: UInt64(size * 31 + kernel))
    let input = (0..<images * size * size * channels).map { _ in generator.nextFloat() * 4 - 1 }
    let weights = (0..<kernel * kernel * channels).map { _ in generator.nextFloat() - 0.5 }
    let bias = (0..<channels).map { _ in generator.nextFloat() }
    let expected = naiveDepthwise(input, g, images: images, weights: weights, bias: bias)
    let (rows, split, half) = (images * g.outputSize, g.outputSize + g.outputSize / 2, channels / 2)
    for build in Convolution.KernelBuild.allCases {
      var output = [Float](repeating: .nan, count: images * g.outputSize * g.outputSize * channels)
      input.withUnsafeBufferPointer { input in
        output.withUnsafeMutableBufferPointer { output in
          for part in [0..<split, split..<rows] {
            for share in [0..<half, half..<channels] {
              Convolution.depthwiseReLU6(
                input.baseAddress!, geometry: g, weights: weights, bias: bias, into: output.baseAddress!, rows: part,
                channels: share, build: build)
            }
          }
        }
      }
      let worst = zip(output, expected).map { $0.isNaN ? .infinity : abs($0 - $1) }.max()!
      #expect(worst < 1e-5, "build: \(build)")
    }
  }

  // A band of one image's output lines, read from a copy of only the input lines its
  // windows reach and written to a buffer of only those output lines (as the vision model's
  // bands do), gives the lines of the whole convolution: bands at the top and bottom edge
  // (padding) and inside, of the second image, each build.
  @Test(arguments: [(14, 3, 1, 16), (14, 5, 2, 24), (12, 3, 2, 21), (9, 5, 1, 32)])
  func aBandOfLinesFromItsOwnBuffersMatchesTheWholeConvolution(size: Int, kernel: Int, stride: Int, channels: Int) {
    let g = Convolution.Geometry(size: size, channels: channels, kernel: kernel, stride: stride)
    let (images, out) = (2, g.outputSize)
    var generator = SplitMix(seed: UInt64(size * 17 + kernel))
    let input = (0..<images * size * size * channels).map { _ in generator.nextFloat() * 4 - 1 }
    let weights = (0..<kernel * kernel * channels).map { _ in generator.nextFloat() - 0.5 }
    let bias = (0..<channels).map { _ in generator.nextFloat() }
    let expected = naiveDepthwise(input, g, images: images, weights: weights, bias: bias)
    let lineFloats = size * channels
    for lines in [0..<2, out / 2 - 1..<out / 2 + 1, out - 2..<out] {
      let reached = max(0, lines.lowerBound * stride - g.padding.before)..<min(
        size, (lines.upperBound - 1) * stride - g.padding.before + kernel)
      let inputRows = size + reached.lowerBound..<size + reached.upperBound  // the second image's
      let outputRows = out + lines.lowerBound..<out + lines.upperBound
      let band = Array(input[inputRows.lowerBound * lineFloats..<inputRows.upperBound * lineFloats])
      for build in Convolution.KernelBuild.allCases {
        var output = [Float](repeating: .nan, count: lines.count * out * channels)
        Convolution.depthwiseReLU6(
          band, geometry: g, weights: weights, bias: bias, into: &output, rows: outputRows, inputFirstRow: inputRows.lowerBound,
          outputFirstRow: outputRows.lowerBound, build: build)
        let whole = expected[outputRows.lowerBound * out * channels..<outputRows.upperBound * out * channels]
        let worst = zip(output, whole).map { $0.isNaN ? .infinity : abs($0 - $1) }.max()!
        #expect(worst < 1e-5, "lines \(lines), build \(build)")
      }
    }
  }

  @Test func unfoldedPatchesHoldEachWindowWithZeroPadding() {
    let g = Convolution.Geometry(size: 4, channels: 2, kernel: 3, stride: 2)
    let input = (0..<32).map(Float.init)  // pixel (y, x) channel c = (y·4 + x)·2 + c
    var patches = [Float](repeating: .nan, count: g.outputSize * g.outputSize * 18)
    input.withUnsafeBufferPointer { input in
      patches.withUnsafeMutableBufferPointer { patches in
        Convolution.unfoldPatches(input.baseAddress!, geometry: g, into: patches.baseAddress!, rows: 0..<g.outputSize)
      }
    }
    // Output (1, 1) reads rows and columns 2...4 (4 is padding): first tap is pixel (2, 2).
    let last = Array(patches[3 * 18..<4 * 18])
    #expect(Array(last[0..<2]) == [20, 21])
    #expect(Array(last[4..<6]) == [0, 0])  // (2, 4) is padding
    #expect(Array(last[12..<18]) == [0, 0, 0, 0, 0, 0])  // row 4 is padding
    // Output (0, 0) starts at pixel (0, 0): SAME padding at stride 2 pads only after.
    #expect(Array(patches[0..<2]) == [0, 1])
  }

  /// The 1×1 kernel against a naive product, over a column range of a wider layer: row
  /// counts that leave one to three rows after the tiles of four (two or three: a short
  /// tile), with 64 inputs or more tiles of twelve and a last tile of exactly what is left,
  /// five to eleven rows (13 rows: one of twelve and one row; 17: twelve and five), column
  /// ranges that need every tile width
  /// down to single columns, with and without clamp and residual, in both weight layouts
  /// (the panels' padding NaN, which no tile may read).
  @Test(arguments: [
    (7, 16, 96, 0..<96, true, false), (5, 27, 32, 0..<32, true, false), (3, 40, 150, 16..<150, false, true),
    (1, 24, 5, 0..<5, true, false), (9, 3, 24, 0..<24, false, true), (6, 480, 200, 48..<200, false, true),
    (4, 144, 40, 0..<40, true, true), (11, 384, 100, 32..<100, false, false), (13, 96, 56, 0..<56, true, true),
    (17, 64, 120, 16..<120, false, true), (2, 70, 48, 0..<48, true, false), (7, 66, 34, 0..<34, false, true),
    (8, 64, 48, 16..<48, true, false), (9, 128, 64, 0..<64, false, false), (10, 200, 40, 16..<40, true, true),
  ])
  func pointwiseMatchesTheNaiveProduct(rows: Int, inputs: Int, outputs: Int, columns: Range<Int>, clamp: Bool, residual: Bool) {
    var generator = SplitMix(seed: UInt64(rows * 1_000 + inputs * 10 + outputs))
    let input = (0..<rows * inputs).map { _ in generator.nextFloat() * 4 - 2 }
    let weight = (0..<inputs * outputs).map { _ in generator.nextFloat() - 0.5 }  // [inputs × outputs]
    let bias = (0..<outputs).map { _ in generator.nextFloat() * 2 - 1 }
    let added = (0..<rows * outputs).map { _ in generator.nextFloat() * 2 - 1 }
    // Columns outside the range keep their value: NaN, which no tolerance accepts.
    var expected = [Float](repeating: .nan, count: rows * outputs)
    for row in 0..<rows {
      for output in columns {
        var sum = bias[output]
        for k in 0..<inputs { sum += input[row * inputs + k] * weight[k * outputs + output] }
        sum = clamp ? min(max(sum, 0), 6) : sum
        expected[row * outputs + output] = sum + (residual ? added[row * outputs + output] : 0)
      }
    }
    for layout in Convolution.WeightLayout.allCases {
      var laidOut = [Float](repeating: .nan, count: layout.count(inputs: inputs, outputs: outputs))
      for k in 0..<inputs {
        for o in 0..<outputs { laidOut[layout.index(input: k, output: o, inputs: inputs, outputs: outputs)] = weight[k * outputs + o] }
      }
      for build in Convolution.KernelBuild.allCases {
        var result = [Float](repeating: .nan, count: rows * outputs)
        added.withUnsafeBufferPointer { added in
          result.withUnsafeMutableBufferPointer { result in
            Convolution.pointwise(
              input, rows: rows, inputs: inputs, weights: laidOut, layout: layout, bias: bias, outputs: outputs, columns: columns,
              residual: residual ? added.baseAddress! : nil, into: result.baseAddress!, clamp: clamp, build: build)
          }
        }
        let worst = zip(result, expected).map { $1.isNaN ? ($0.isNaN ? 0 : .infinity) : abs($0 - $1) }.max()!
        #expect(worst < 1e-4, "layout: \(layout), build: \(build)")
      }
    }
  }
}

/// A small deterministic generator, so failures reproduce.
struct SplitMix {
  private var state: UInt64
  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
