import Foundation
import Synchronization

/// EfficientNet-Lite0, the ImageNet-1k classifier: a 3×3/2 stem, 16 MBConv blocks
/// (1×1 expand, depthwise 3×3 or 5×5, 1×1 project, ReLU6, no squeeze-excite), a 1×1 head
/// to 1280 features, global average pooling and a 1000-way linear classifier.
///
/// Activations are NHWC. Batch normalisation is folded into each convolution's weights
/// and bias at load time, so inference is convolutions, clamps and adds only: the 1×1
/// convolutions and the stem (unfolded into patches) are ``Gemm`` products, the
/// depthwise ones direct loops. Padding is TensorFlow's "SAME", as in the original.
public final class EfficientNetLite0: Sendable {
  /// Input side length: images are 224 × 224 × 3.
  public static let inputSize = 224
  /// Length of the pooled feature vector.
  public static let featureCount = 1_280
  /// Number of ImageNet classes.
  public static let classCount = 1_000
  static let batchNormEpsilon: Float = 1e-3
  static let stemChannels = 32

  /// One stage of blocks: (repeats, kernel, stride, expansion, input → output channels).
  private static let stages: [(repeats: Int, kernel: Int, stride: Int, expansion: Int, input: Int, output: Int)] = [
    (1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320),
  ]

  /// A 1×1 convolution (also the stem over its unfolded patches, and the classifier) with
  /// its batch norm folded in. A layer only ever run by ``Convolution/pointwise`` keeps its
  /// weights in panels, which stream from memory faster; one sgemm may run keeps them
  /// input-major, which both read.
  private struct Pointwise: Sendable {
    let weights: WeightArena.Floats
    let layout: Convolution.WeightLayout
    let bias: WeightArena.Floats
    let inputs, outputs: Int

    /// Whether rows split over the lanes go to sgemm rather than the direct kernel.
    var usesGemm: Bool { layout == .inputMajor }

    /// From PyTorch's `[outputs × inputs]` layout, each output row scaled by `scale`,
    /// copied into `arena`. With `alwaysDirect`, the layer runs on the direct kernel however
    /// many rows it has.
    init<Weights: RandomAccessCollection<Float>>(
      weight: Weights, scale: [Float]? = nil, bias: [Float], outputs: Int, alwaysDirect: Bool = false, in arena: WeightArena
    ) where Weights.Index == Int {
      let inputs = weight.count / outputs
      let layout: Convolution.WeightLayout = alwaysDirect || inputs <= EfficientNetLite0.directInputs ? .panels : .inputMajor
      (weights, self.layout, self.bias, self.inputs, self.outputs) =
        (arena.copy(layout.relaid(weight, outputs: outputs, scale: scale)), layout, arena.copy(bias), inputs, outputs)
    }
  }

  /// A depthwise convolution with its batch norm folded in, weights re-laid tap-major,
  /// `[kernel² × channels]`.
  private struct Depthwise: Sendable {
    let weight: WeightArena.Floats
    let bias: WeightArena.Floats
  }

  private struct Block: Sendable {
    let expand: Pointwise?
    let depthwise: Depthwise
    let geometry: Convolution.Geometry
    let project: Pointwise
    let residual: Bool
  }

  private let stem: Pointwise
  private let stemGeometry = Convolution.Geometry(size: inputSize, channels: 3, kernel: 3, stride: 2)
  private let blocks: [Block]
  private let head: Pointwise
  private let classifier: Pointwise
  private let lanes: ComputeLanes
  /// Holds every layer's weights and biases.
  private let weightArena: WeightArena
  /// Per-image sizes of the three activation buffers, in floats.
  private let blockBufferSize, expandedBufferSize, depthwiseBufferSize: Int
  /// Images that go through the network together, layer by layer: as many as have their
  /// activations (about 9.5 MB each) fit in the last-level cache, at least one. A larger
  /// batch runs in groups of about this size: its activations would stream through
  /// memory at every layer, and a batch of 16 took 93–111 ms that way against 77–93 ms in
  /// groups of one to four (docs/BENCHMARKS.md, twenty-first session).
  let imagesPerGroup: Int
  /// The last group's buffers, kept for the next call: fresh ones are fresh pages, and
  /// faulting them in cost about 6% of a one-image run.
  private let spareBuffers = Mutex<Buffers?>(nil)

  /// Loads the weights (the converted `efficientnet-lite0` state dict), checking every
  /// tensor's shape, and folds the batch norms; the forward pass runs on `lanes`.
  public init(weights file: SafetensorsFile, lanes: ComputeLanes = ComputeLanes()) throws {
    self.lanes = lanes
    weightArena = WeightArena()
    let loader = WeightLoader(file: file, arena: weightArena)
    stem = try loader.stem("_conv_stem", norm: "_bn0", outputs: Self.stemChannels)
    var blocks: [Block] = []
    var size = stemGeometry.outputSize
    for stage in Self.stages {
      for repeatIndex in 0..<stage.repeats {
        let prefix = "_blocks.\(blocks.count)."
        let input = repeatIndex == 0 ? stage.input : stage.output
        let stride = repeatIndex == 0 ? stage.stride : 1
        let expanded = input * stage.expansion
        let geometry = Convolution.Geometry(size: size, channels: expanded, kernel: stage.kernel, stride: stride)
        blocks.append(
          Block(
            expand: stage.expansion == 1
              ? nil : try loader.pointwise(prefix + "_expand_conv", norm: prefix + "_bn0", outputs: expanded, inputs: input),
            depthwise: try loader.depthwise(prefix + "_depthwise_conv", norm: prefix + "_bn1", channels: expanded, kernel: stage.kernel),
            geometry: geometry,
            project: try loader.pointwise(prefix + "_project_conv", norm: prefix + "_bn2", outputs: stage.output, inputs: expanded),
            residual: stride == 1 && input == stage.output))
        size = geometry.outputSize
      }
    }
    self.blocks = blocks
    head = try loader.pointwise("_conv_head", norm: "_bn1", outputs: Self.featureCount, inputs: Self.stages.last!.output)
    classifier = try loader.linear("_fc", outputs: Self.classCount, inputs: Self.featureCount)

    let stemOutput = stemGeometry.outputSize * stemGeometry.outputSize
    blockBufferSize = blocks.reduce(stemOutput * Self.stemChannels) { largest, block in
      let g = block.geometry
      return max(largest, g.size * g.size * block.project.outputs, g.outputSize * g.outputSize * block.project.outputs)
    }
    expandedBufferSize = blocks.reduce(max(stemOutput * stem.inputs, size * size * Self.featureCount)) { largest, block in
      max(largest, block.geometry.size * block.geometry.size * block.geometry.channels)
    }
    depthwiseBufferSize = blocks.map { $0.geometry.outputSize * $0.geometry.outputSize * $0.geometry.channels }.max()!
    let bytesPerImage = (2 * blockBufferSize + expandedBufferSize + depthwiseBufferSize) * MemoryLayout<Float>.stride
    imagesPerGroup = max(1, Self.lastLevelCacheBytes / bytesPerImage)
  }

  /// The last-level cache's size as the CPU reports it (`sysconf`), or 8 MiB where it
  /// reports none.
  static let lastLevelCacheBytes: Int = {
    let reported = sysconf(Int32(_SC_LEVEL3_CACHE_SIZE))
    return reported > 0 ? reported : 8 << 20
  }()

  /// The network's outputs for a batch, image by image.
  public struct Output: Sendable {
    /// `[images × 1280]` pooled features.
    public var features: [Float]
    /// `[images × 1000]` classifier logits.
    public var logits: [Float]
  }

  /// Runs `count` images, given as `[count × 224 × 224 × 3]` floats already normalised
  /// to the model's input range ((x − 127) / 128), in groups of at most ``imagesPerGroup``.
  public func run(_ images: [Float], count: Int) -> Output {
    let side = Self.inputSize
    let imageSize = side * side * 3
    precondition(images.count == count * imageSize, "expected \(count) images of \(side)×\(side)×3")
    var output = Output(
      features: [Float](repeating: 0, count: count * Self.featureCount), logits: [Float](repeating: 0, count: count * Self.classCount))
    let groups = (count + imagesPerGroup - 1) / imagesPerGroup
    images.withUnsafeBufferPointer { images in
      output.features.withUnsafeMutableBufferPointer { features in
        output.logits.withUnsafeMutableBufferPointer { logits in
          var first = 0
          for group in 0..<groups {
            // Groups as even as they can be: 16 images in groups of at most 3 are 2, 2, 3, 3, 3, 3.
            let size = (count - first) / (groups - group)
            runGroup(
              images.baseAddress! + first * imageSize, count: size, features: features.baseAddress! + first * Self.featureCount,
              logits: logits.baseAddress! + first * Self.classCount)
            first += size
          }
        }
      }
    }
    return output
  }

  /// Runs `count` images through the whole network, layer by layer, writing their pooled
  /// features and logits.
  private func runGroup(
    _ images: UnsafePointer<Float>, count: Int, features: UnsafeMutablePointer<Float>, logits: UnsafeMutablePointer<Float>
  ) {
    let buffers = takeBuffers(count: count)
    defer { keep(buffers) }
    var current = buffers.blockA
    var spare = buffers.blockB

    // Stem: unfold each output pixel's 3×3×3 window, then one product per lane.
    let stemSide = stemGeometry.outputSize
    let (input, output) = (SendableReadPointer(images), SendablePointer(current))
    lanes.forEachBlock(of: count * stemSide, minimumRows: 1) { lines in
      Convolution.unfoldPatches(input.pointer, geometry: stemGeometry, into: buffers.expanded, rows: lines)
      let pixels = lines.lowerBound * stemSide..<lines.upperBound * stemSide
      pointwise(stem, rows: pixels, input: buffers.expanded, output: output.pointer, clamp: true)
    }
    for block in blocks {
      if let bands = bandPlan(block, images: count) {
        runInBands(block, bands, images: count, input: current, output: spare, scratch: buffers.bands)
      } else {
        runLayerByLayer(block, images: count, input: current, output: spare, buffers: buffers)
      }
      swap(&current, &spare)
    }
    classify(current, count: count, side: blocks.last!.geometry.outputSize, buffers: buffers, features: features, logits: logits)
  }

  /// Runs `block` one layer at a time over the whole group: each convolution spread over
  /// the lanes, its output in `buffers` for the next.
  private func runLayerByLayer(
    _ block: Block, images: Int, input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, buffers: Buffers
  ) {
    let g = block.geometry
    var depthwiseInput = input
    if let expand = block.expand {
      pointwiseOnLanes(expand, rows: images * g.size * g.size, input: input, output: buffers.expanded, clamp: true)
      depthwiseInput = buffers.expanded
    }
    depthwiseOnLanes(block, images: images, input: depthwiseInput, output: buffers.depthwise)
    pointwiseOnLanes(
      block.project, rows: images * g.outputSize * g.outputSize, input: buffers.depthwise, output: output, clamp: false,
      adding: block.residual ? input : nil)
  }

  /// How a block runs a band of output lines at a time (``runInBands(_:_:images:input:output:scratch:)``).
  private struct BandPlan {
    /// Output lines of one image in a band (the image's last band may have fewer).
    let lines: Int
    /// Bands that cover one image.
    let bandsPerImage: Int
  }

  /// Floats of each lane's scratch for a band: its expanded input lines and a step's
  /// depthwise output, which then stay in the lane's L2 (1 MiB a core here).
  static let bandScratchFloats = 640 * 1_024 / MemoryLayout<Float>.stride

  /// Output lines a band's depthwise step writes before they are projected: enough pixels
  /// for the product's row tiles (twelve) to be full, few enough to stay in L1 and L2.
  static func linesPerStep(_ outputSize: Int) -> Int { max(1, (48 + outputSize - 1) / outputSize) }

  /// How `block` runs over `images` images a band at a time, or nil where it runs layer by
  /// layer: a block without an expansion, and maps too small to split by rows (the 14×14
  /// and 7×7 stages at batch 1), which split by channels instead, each lane keeping its
  /// channels' expansion and depthwise output in its cache already. A band is as many
  /// output lines as fit the scratch, up to a lane's share of the group's lines: smaller
  /// bands, two a lane, balanced the lanes no better and expanded more lines twice (batch 1
  /// slower in 10 of 10 alternated runs, docs/BENCHMARKS.md, twenty-third session).
  private func bandPlan(_ block: Block, images: Int) -> BandPlan? {
    let g = block.geometry
    let out = g.outputSize
    guard block.expand != nil, images * g.size * g.size >= Self.columnSplitRows else { return nil }
    let expandedLine = g.size * g.channels
    let stepFloats = Self.linesPerStep(out) * out * g.channels
    func scratchFloats(_ lines: Int) -> Int { ((lines - 1) * g.stride + g.kernel) * expandedLine + stepFloats }
    var lines = min(out, max(1, (images * out + lanes.count - 1) / lanes.count))
    while lines > 1 && scratchFloats(lines) > Self.bandScratchFloats { lines -= 1 }
    guard scratchFloats(lines) <= Self.bandScratchFloats else { return nil }
    // Bands as even as they can be.
    let bandsPerImage = (out + lines - 1) / lines
    return BandPlan(lines: (out + bandsPerImage - 1) / bandsPerImage, bandsPerImage: bandsPerImage)
  }

  /// Runs `block` (one with an expansion) a band of output lines at a time, each lane
  /// claiming bands: it expands the input lines the band's depthwise windows reach into its
  /// scratch, then runs the depthwise convolution a few lines at a time into its scratch and
  /// projects them into `output`. Layer by layer, the expanded map (4.8 MB an image in the
  /// first 112×112 block) went out to the last-level cache and came back for the depthwise
  /// step, and each of the three steps ended at a barrier; in bands it stays in the lane's
  /// L2, for the price of expanding twice the lines two bands share. Batch 1 median 4.92 →
  /// 4.80 ms (faster in 32 of 38 alternated runs), batch 16 90–106 → 71–77 ms
  /// (docs/BENCHMARKS.md, twenty-third session).
  private func runInBands(
    _ block: Block, _ plan: BandPlan, images: Int, input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>
  ) {
    let (source, target, scratches) = (SendableReadPointer(input), SendablePointer(output), SendablePointer(scratch))
    lanes.forEachClaimedChunk(of: images * plan.bandsPerImage, size: 1) { bands, lane in
      // One lane gets every band in one chunk.
      for band in bands {
        runBand(
          block, plan, band, input: source.pointer, output: target.pointer,
          scratch: scratches.pointer + lane * Self.bandScratchFloats)
      }
    }
  }

  /// Band `index` of the group (``runInBands(_:_:images:input:output:scratch:)``).
  private func runBand(
    _ block: Block, _ plan: BandPlan, _ index: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>
  ) {
    let (g, expand, project) = (block.geometry, block.expand!, block.project)
    let (image, band) = index.quotientAndRemainder(dividingBy: plan.bandsPerImage)
    let lines = band * plan.lines..<min(g.outputSize, (band + 1) * plan.lines)
    // The input lines the band's windows reach (the batch's rows), expanded into the scratch.
    let reached = max(0, lines.lowerBound * g.stride - g.padding.before)..<min(
      g.size, (lines.upperBound - 1) * g.stride - g.padding.before + g.kernel)
    let inputRows = image * g.size + reached.lowerBound..<image * g.size + reached.upperBound
    pointwise(
      expand, rows: inputRows.count * g.size, input: input + inputRows.lowerBound * g.size * expand.inputs, output: scratch,
      clamp: true)
    let depthwiseOutput = scratch + inputRows.count * g.size * g.channels
    let outputRows = image * g.outputSize + lines.lowerBound..<image * g.outputSize + lines.upperBound
    let stepLines = Self.linesPerStep(g.outputSize)
    for stepStart in stride(from: outputRows.lowerBound, to: outputRows.upperBound, by: stepLines) {
      let step = stepStart..<min(outputRows.upperBound, stepStart + stepLines)
      Convolution.depthwiseReLU6(
        scratch, geometry: g, weights: block.depthwise.weight.pointer, bias: block.depthwise.bias.pointer, into: depthwiseOutput,
        rows: step, inputFirstRow: inputRows.lowerBound, outputFirstRow: stepStart)
      // A residual block keeps its shape: the output's pixel is the input's.
      let firstPixel = stepStart * g.outputSize
      pointwise(
        project, rows: step.count * g.outputSize, input: depthwiseOutput, output: output + firstPixel * project.outputs,
        clamp: false, adding: block.residual ? input + firstPixel * project.outputs : nil)
    }
  }

  /// Head convolution, global average pooling into `features` (zeroed) and the classifier
  /// into `logits`.
  private func classify(
    _ input: UnsafeMutablePointer<Float>, count: Int, side: Int, buffers: Buffers, features: UnsafeMutablePointer<Float>,
    logits: UnsafeMutablePointer<Float>
  ) {
    let pixelsPerImage = side * side
    pointwiseOnLanes(head, rows: count * pixelsPerImage, input: input, output: buffers.expanded, clamp: true)
    let scale = 1 / Float(pixelsPerImage)
    for image in 0..<count {
      let pooled = features + image * Self.featureCount
      for pixel in 0..<pixelsPerImage {
        Elementwise.add(buffers.expanded + (image * pixelsPerImage + pixel) * Self.featureCount, to: pooled, count: Self.featureCount)
      }
      for channel in 0..<Self.featureCount { pooled[channel] *= scale }
    }
    pointwiseOnLanes(classifier, rows: count, input: features, output: logits, clamp: false)
  }

  /// Input channels up to which a 1×1 convolution over many rows runs on
  /// ``Convolution/pointwise`` rather than sgemm. With few inputs (the stem's patches, the
  /// first four stages' expansions) sgemm's packing and its separate passes for bias and
  /// clamp outweigh the product. With more, the direct kernel's AVX-512 build is as fast
  /// as sgemm at batch 16 and faster at batch 1 (one lane: 12.0–13.0 against 12.8–13.5
  /// ms), but its AVX2 build is behind (batch 16: 180–212 against 147–188 ms), so without
  /// AVX-512 those layers stay on sgemm (docs/BENCHMARKS.md, eighteenth session).
  static let directInputs = Convolution.pointwiseRunsAVX512 ? Int.max : 64

  /// Rows (pixels of the batch) below which a 1×1 convolution is split over the lanes by
  /// output columns rather than by rows: with few rows, splitting rows makes every lane
  /// read all the weights for little work (the 14×14 and 7×7 stages at batch 1, the
  /// classifier up to 255 images). These run on ``Convolution/pointwise`` whatever their
  /// inputs: sgemm would pack the rows and the weights on every call for 49–196 rows.
  static let columnSplitRows = 256

  /// Pixels a lane claims at a time in a 1×1 convolution split by rows: an eighth, in
  /// whole twelve-row tiles. Claimed rather than fixed halves (these maps are larger
  /// than a lane's L2, so which lane wrote a row matters little): batch 1 faster in 12
  /// of 14 alternated runs, median 5.63 → 5.56 ms (docs/BENCHMARKS.md, twentieth session).
  static func pixelsPerChunk(_ rows: Int) -> Int { (ComputeLanes.eighth(of: rows) + 11) / 12 * 12 }

  /// `output[0..<rows] = input · weight + bias`, clamped to [0, 6] if `clamp`, plus
  /// `residual` if given, spread over the lanes (by rows, or by output columns for few rows).
  private func pointwiseOnLanes(
    _ convolution: Pointwise, rows: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
    clamp: Bool, adding residual: UnsafePointer<Float>? = nil
  ) {
    let (source, target, residual) = (SendableReadPointer(input), SendablePointer(output), residual.map(SendableReadPointer.init))
    guard rows < Self.columnSplitRows else {
      return lanes.forEachClaimedChunk(of: rows, size: Self.pixelsPerChunk(rows)) { pixels, _ in
        pointwise(convolution, rows: pixels, input: source.pointer, output: target.pointer, clamp: clamp, adding: residual?.pointer)
      }
    }
    lanes.forEachColumnBlock(of: convolution.outputs, unit: Convolution.WeightLayout.panelWidth) { columns in
      Convolution.pointwise(
        source.pointer, rows: rows, inputs: convolution.inputs, weights: convolution.weights.pointer,
        layout: convolution.layout, bias: convolution.bias.pointer, outputs: convolution.outputs, columns: columns,
        residual: residual?.pointer, into: target.pointer, clamp: clamp)
    }
  }

  /// A block's depthwise convolution, spread over the lanes: by output rows (each lane
  /// claiming an eighth at a time), or, where the expansion before it split by output
  /// columns (few pixels), by the same channels, which each lane wrote and still has in
  /// its cache (a 7-row map also splits evenly that way).
  private func depthwiseOnLanes(_ block: Block, images: Int, input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>) {
    let (g, source, target) = (block.geometry, SendablePointer(input), SendablePointer(output))
    let (weights, bias) = (block.depthwise.weight, block.depthwise.bias)
    let run = { @Sendable (rows: Range<Int>, channels: Range<Int>) in
      Convolution.depthwiseReLU6(
        source.pointer, geometry: g, weights: weights.pointer, bias: bias.pointer, into: target.pointer, rows: rows,
        channels: channels)
    }
    let rows = images * g.outputSize
    guard images * g.size * g.size < Self.columnSplitRows else {
      return lanes.forEachClaimedChunk(of: rows, size: ComputeLanes.eighth(of: rows)) { lines, _ in run(lines, 0..<g.channels) }
    }
    lanes.forEachColumnBlock(of: g.channels, unit: Convolution.WeightLayout.panelWidth) { run(0..<rows, $0) }
  }

  /// The product below for the range `rows` of buffers that each hold the batch from its
  /// first row.
  private func pointwise(
    _ convolution: Pointwise, rows: Range<Int>, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, clamp: Bool,
    adding residual: UnsafePointer<Float>? = nil
  ) {
    let (inputs, outputs) = (convolution.inputs, convolution.outputs)
    pointwise(
      convolution, rows: rows.count, input: input + rows.lowerBound * inputs, output: output + rows.lowerBound * outputs,
      clamp: clamp, adding: residual.map { $0 + rows.lowerBound * outputs })
  }

  /// `output = input · weight + bias` for `rows` rows (each pointer at its first row),
  /// optionally clamped to [0, 6], plus the same rows of `residual` if given, on the
  /// calling lane: the direct kernel, or sgemm for a layer that ``Pointwise/usesGemm``.
  private func pointwise(
    _ convolution: Pointwise, rows: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, clamp: Bool,
    adding residual: UnsafePointer<Float>? = nil
  ) {
    let (inputs, outputs) = (convolution.inputs, convolution.outputs)
    let (weights, bias) = (convolution.weights.pointer, convolution.bias.pointer)
    guard convolution.usesGemm else {
      return Convolution.pointwise(
        input, rows: rows, inputs: inputs, weights: weights, layout: convolution.layout, bias: bias, outputs: outputs,
        columns: 0..<outputs, residual: residual, into: output, clamp: clamp)
    }
    Gemm.linear(input, rows: rows, weightByInput: weights, bias: bias, outputs: outputs, inputs: inputs, into: output)
    let count = rows * outputs
    if clamp { Elementwise.relu6(output, count: count) }
    if let residual { Elementwise.add(residual, to: output, count: count) }
  }

  /// Buffers for `count` images: the spare ones if they are large enough, else new ones.
  private func takeBuffers(count: Int) -> Buffers {
    let spare = spareBuffers.withLock { spare -> Buffers? in
      guard let buffers = spare, buffers.count >= count else { return nil }
      spare = nil
      return buffers
    }
    return spare
      ?? Buffers(
        count: count, block: blockBufferSize, expanded: expandedBufferSize, depthwise: depthwiseBufferSize,
        bands: lanes.count * Self.bandScratchFloats)
  }

  /// Keeps a group's buffers as the spare, or the spare if that is larger (the other is
  /// freed).
  private func keep(_ buffers: Buffers) {
    spareBuffers.withLock { spare in
      if let old = spare, old.count > buffers.count { return }
      spare = buffers
    }
  }

  /// The activations of one batch: two block buffers that swap roles each block (input
  /// and residual, output), the expanded activations and the depthwise output of blocks
  /// run layer by layer, and the lanes' scratch for blocks run in bands, in one
  /// ``HugePageMemory`` freed with the last copy.
  private struct Buffers: @unchecked Sendable {
    // @unchecked: lanes write disjoint rows between barriers.
    let blockA, blockB, expanded, depthwise: UnsafeMutablePointer<Float>
    /// Each lane's scratch for a block run in bands, ``bandScratchFloats`` apart.
    let bands: UnsafeMutablePointer<Float>
    /// Images they hold.
    let count: Int
    private let memory: HugePageMemory

    /// Buffers for `count` images of the sizes given per image, and `bands` floats of scratch.
    init(count: Int, block: Int, expanded: Int, depthwise: Int, bands: Int) {
      self.count = count
      // Each buffer starts on a cache line.
      let floats = [block, block, expanded, depthwise].map { count * $0 } + [bands]
      let bytes = floats.map { HugePageMemory.cacheLineRounded($0 * MemoryLayout<Float>.stride) }
      let memory = HugePageMemory(byteCount: bytes.reduce(0, +))
      let starts = bytes.indices.map { bytes[..<$0].reduce(0, +) }
      let pointers = zip(starts, floats).map { memory.floats(at: $0, count: $1) }
      (blockA, blockB, self.expanded, self.depthwise, self.bands) = (pointers[0], pointers[1], pointers[2], pointers[3], pointers[4])
      self.memory = memory
    }
  }

  /// Reads convolution and batch-norm tensors and folds them together.
  private struct WeightLoader {
    let file: SafetensorsFile
    /// Where the folded weights go.
    let arena: WeightArena

    /// The per-output-channel scale and shift of batch norm `name`.
    func norm(_ name: String, channels: Int) throws -> (scale: [Float], shift: [Float]) {
      let gamma = try file.float32(name + ".weight", shape: [channels]).values
      let beta = try file.float32(name + ".bias", shape: [channels]).values
      let mean = try file.float32(name + ".running_mean", shape: [channels]).values
      let variance = try file.float32(name + ".running_var", shape: [channels]).values
      let scale = (0..<channels).map { gamma[$0] / (variance[$0] + EfficientNetLite0.batchNormEpsilon).squareRoot() }
      return (scale, (0..<channels).map { beta[$0] - mean[$0] * scale[$0] })
    }

    /// A 1×1 convolution `[outputs, inputs, 1, 1]` with its norm folded in.
    func pointwise(_ name: String, norm normName: String, outputs: Int, inputs: Int) throws -> Pointwise {
      let weight = try file.float32(name + ".weight", shape: [outputs, inputs, 1, 1]).values
      let (scale, shift) = try norm(normName, channels: outputs)
      return Pointwise(weight: weight, scale: scale, bias: shift, outputs: outputs, in: arena)
    }

    /// A depthwise convolution `[channels, 1, k, k]`, folded and re-laid tap-major.
    func depthwise(_ name: String, norm normName: String, channels: Int, kernel: Int) throws -> Depthwise {
      let taps = kernel * kernel
      let weight = try file.float32(name + ".weight", shape: [channels, 1, kernel, kernel]).values
      let (scale, shift) = try norm(normName, channels: channels)
      var relaid = [Float](repeating: 0, count: taps * channels)
      for channel in 0..<channels {
        for tap in 0..<taps { relaid[tap * channels + channel] = weight[channel * taps + tap] * scale[channel] }
      }
      return Depthwise(weight: arena.copy(relaid), bias: arena.copy(shift))
    }

    /// The 3×3 stem `[outputs, 3, 3, 3]`, folded and re-laid to match
    /// ``Convolution/unfoldPatches``: each row ordered by tap, then input channel.
    func stem(_ name: String, norm normName: String, outputs: Int) throws -> Pointwise {
      let weight = try file.float32(name + ".weight", shape: [outputs, 3, 3, 3]).values
      let (scale, shift) = try norm(normName, channels: outputs)
      var relaid = [Float](repeating: 0, count: outputs * 27)
      for output in 0..<outputs {
        for channel in 0..<3 {
          for tap in 0..<9 {
            relaid[output * 27 + tap * 3 + channel] = weight[(output * 3 + channel) * 9 + tap] * scale[output]
          }
        }
      }
      return Pointwise(weight: relaid, bias: shift, outputs: outputs, in: arena)
    }

    /// A linear layer `[outputs, inputs]` with its bias, always on the direct kernel: with
    /// one row per image, its weights' streaming from memory is the cost.
    func linear(_ name: String, outputs: Int, inputs: Int) throws -> Pointwise {
      Pointwise(
        weight: try file.float32(name + ".weight", shape: [outputs, inputs]).values,
        bias: Array(try file.float32(name + ".bias", shape: [outputs]).values), outputs: outputs, alwaysDirect: true,
        in: arena)
    }
  }
}

