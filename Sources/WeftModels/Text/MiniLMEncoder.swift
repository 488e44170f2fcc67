import Foundation

/// all-MiniLM-L6-v2: a 6-layer BERT encoder (hidden 384, 12 heads of 32, FFN 1536, GELU),
/// mean pooling over real tokens, L2 normalisation. The products read a copy of the
/// projections laid out in panels (``Projection``); up to ``columnSplitRows`` rows each is
/// split by output columns across the lanes, above that each lane takes chunks of rows
/// through a layer's steps.
public final class MiniLMEncoder: Sendable {
  public static let hidden = 384
  static let heads = 12
  static let headSize = 32
  static let intermediate = 1_536
  static let layers = 6
  static let maxPositions = 512
  static let epsilon: Float = 1e-12
  /// Columns a lane claims at a time in a product over few rows: two panels of 16, one
  /// pass of the widest tile, and the smallest products (384 columns) still make twelve
  /// chunks to share out.
  static let columnsPerChunk = 2 * Convolution.WeightLayout.panelWidth
  /// Rows a lane claims at a time in a layer over more than ``columnSplitRows`` rows: at
  /// least 256 (each chunk reads every weight of the layer once more), and at least
  /// eight chunks to share out.
  static func rowsPerChunk(_ rows: Int) -> Int { max(256, ComputeLanes.eighth(of: rows)) }

  private struct Layer: Sendable {
    /// Query, key and value weights stacked into one [3·384 × 384] projection (and their
    /// biases into one vector), so the three are one product.
    let attentionInput: Projection, attentionInputBias: WeightArena.Floats
    let output: Projection, outputBias, attentionNormGamma, attentionNormBeta: WeightTensor
    let up: Projection, upBias: WeightTensor, down: Projection, downBias, outputNormGamma, outputNormBeta: WeightTensor
  }

  /// A projection's weights in panels of 16 output columns
  /// (``Convolution/WeightLayout/panels``), for ``Convolution/pointwise``, which reads
  /// them in order, twelve rows at a time (for a short text 1.25–1.4× the speed of the
  /// dot-product kernel on PyTorch's layout, docs/BENCHMARKS.md, nineteenth session). A
  /// copy, in the encoder's ``WeightArena`` (huge pages; 42 MB for the six layers), for
  /// products over any number of rows: over 4,096 rows (32 × 128 pieces) the kernel a
  /// column chunk at a time took 492 ms where sgemm on the mapped layout took 522, which
  /// packs both operands for each chunk of rows (twenty-second session).
  private struct Projection: Sendable {
    let weights: WeightArena.Floats
    let inputs, outputs: Int

    init<Weights: RandomAccessCollection<Float>>(_ weight: Weights, outputs: Int, in arena: WeightArena)
    where Weights.Index == Int {
      weights = arena.copy(Convolution.WeightLayout.panels.relaid(weight, outputs: outputs))
      (inputs, self.outputs) = (weight.count / outputs, outputs)
    }

    /// Writes output `columns` of `rows` rows: `input` times the weights plus `bias`,
    /// plus `residual` (which may be `output`) if given.
    @inline(__always)
    func apply(
      _ input: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>, residual: UnsafePointer<Float>?,
      into output: UnsafeMutablePointer<Float>, columns: Range<Int>
    ) {
      Convolution.pointwise(
        input, rows: rows, inputs: inputs, weights: weights.pointer, layout: .panels, bias: bias, outputs: outputs,
        columns: columns, residual: residual, into: output, clamp: false)
    }
  }

  private let words, positions, types, embeddingNormGamma, embeddingNormBeta: WeightTensor
  private let layers: [Layer]
  /// Holds the layers' ``Projection`` panels.
  private let panelArena: WeightArena
  private let lanes: ComputeLanes
  /// The vocabulary size (rows of the word embedding).
  public let vocabularySize: Int

  /// Loads the weights from `model.safetensors`, checking every tensor's shape; the
  /// forward pass runs on `lanes`.
  public init(weights file: SafetensorsFile, lanes: ComputeLanes = ComputeLanes()) throws {
    let h = Self.hidden
    self.lanes = lanes
    let arena = WeightArena()
    panelArena = arena
    guard let wordEntry = file.entries["embeddings.word_embeddings.weight"], wordEntry.shape.count == 2 else {
      throw SafetensorsFile.LoadError(description: "\(file.path) has no embeddings.word_embeddings.weight")
    }
    vocabularySize = wordEntry.shape[0]
    words = try file.float32("embeddings.word_embeddings.weight", shape: [vocabularySize, h])
    positions = try file.float32("embeddings.position_embeddings.weight", shape: [Self.maxPositions, h])
    types = try file.float32("embeddings.token_type_embeddings.weight", shape: [2, h])
    embeddingNormGamma = try file.float32("embeddings.LayerNorm.weight", shape: [h])
    embeddingNormBeta = try file.float32("embeddings.LayerNorm.bias", shape: [h])
    layers = try (0..<Self.layers).map { index in
      let prefix = "encoder.layer.\(index)."
      func tensor(_ name: String, _ shape: [Int]) throws -> WeightTensor { try file.float32(prefix + name, shape: shape) }
      let projections = ["query", "key", "value"]
      let weights = try projections.map { try tensor("attention.self.\($0).weight", [h, h]) }
      let biases = try projections.map { try tensor("attention.self.\($0).bias", [h]) }
      let output = try tensor("attention.output.dense.weight", [h, h])
      let up = try tensor("intermediate.dense.weight", [Self.intermediate, h])
      let down = try tensor("output.dense.weight", [h, Self.intermediate])
      return Layer(
        attentionInput: Projection(weights.flatMap(\.values), outputs: 3 * h, in: arena),
        attentionInputBias: arena.copy(biases.flatMap(\.values)),
        output: Projection(output.values, outputs: h, in: arena), outputBias: try tensor("attention.output.dense.bias", [h]),
        attentionNormGamma: try tensor("attention.output.LayerNorm.weight", [h]),
        attentionNormBeta: try tensor("attention.output.LayerNorm.bias", [h]),
        up: Projection(up.values, outputs: Self.intermediate, in: arena), upBias: try tensor("intermediate.dense.bias", [Self.intermediate]),
        down: Projection(down.values, outputs: h, in: arena), downBias: try tensor("output.dense.bias", [h]),
        outputNormGamma: try tensor("output.LayerNorm.weight", [h]), outputNormBeta: try tensor("output.LayerNorm.bias", [h]))
    }
  }

  /// Embeddings for a batch of token-id sequences (each with [CLS]…[SEP]), one
  /// L2-normalised 384-float vector per sequence. Sequences are padded to the longest;
  /// padding is masked out of attention and pooling.
  public func embed(_ batch: [[Int32]]) -> [[Float]] {
    guard !batch.isEmpty else { return [] }
    let h = Self.hidden
    let length = batch.map(\.count).max()!
    precondition(length <= Self.maxPositions, "sequence longer than \(Self.maxPositions) positions")
    let rows = batch.count * length
    var x = [Float](repeating: 0, count: rows * h)
    x.withUnsafeMutableBufferPointer { x in
      embedTokens(batch, length: length, into: x.baseAddress!)
      let scratch = Scratch(rows: rows, length: length, lanes: lanes.count)
      defer { scratch.deallocate() }
      let lengths = batch.map(\.count)
      for layer in layers { run(layer, on: x.baseAddress!, lengths: lengths, length: length, scratch: scratch) }
    }
    return batch.indices.map { index in pool(x, sequence: index, length: length, valid: batch[index].count) }
  }

  private func embedTokens(_ batch: [[Int32]], length: Int, into x: UnsafeMutablePointer<Float>) {
    let h = Self.hidden
    for (sequence, ids) in batch.enumerated() {
      for position in 0..<length {
        let row = x + (sequence * length + position) * h
        // Padding rows get the [PAD] embedding; they are masked everywhere after this.
        let id = position < ids.count ? Int(ids[position]) : 0
        let word = words.pointer + min(max(id, 0), vocabularySize - 1) * h
        let place = positions.pointer + position * h
        for column in 0..<h { row[column] = word[column] + place[column] + types.pointer[column] }
      }
    }
    Elementwise.layerNorm(
      x, rows: batch.count * length, columns: h, gamma: embeddingNormGamma.pointer, beta: embeddingNormBeta.pointer,
      epsilon: Self.epsilon)
  }

  /// Buffers reused across the layers of one batch: activations by row, and one block
  /// of attention scores per lane.
  private struct Scratch: @unchecked Sendable {
    // @unchecked: lanes write disjoint rows (or their own score block) between barriers.
    let projected, context, up, scores: UnsafeMutablePointer<Float>
    let scoreBlock: Int

    init(rows: Int, length: Int, lanes: Int) {
      let h = MiniLMEncoder.hidden
      projected = .allocate(capacity: rows * 3 * h)
      context = .allocate(capacity: rows * h)
      up = .allocate(capacity: rows * MiniLMEncoder.intermediate)
      scoreBlock = length * length
      scores = .allocate(capacity: lanes * scoreBlock)
    }

    func deallocate() {
      for buffer in [projected, context, up, scores] { buffer.deallocate() }
    }
  }

  /// Rows (tokens in a batch) at or below which a layer splits each product by output
  /// columns across the lanes, instead of giving each lane chunks of rows: a handful of
  /// rows makes one chunk, which one lane would run alone. Chosen when the row split ran
  /// on sgemm, which packs the whole weight matrix for each chunk (the column split was
  /// then batch 1 × 128 pieces 5–7% faster, 32 short texts (352 rows) about 2%); above it
  /// the layer norms that run on the caller's thread between the split products would
  /// grow with the rows. Not measured again since both splits run ``Convolution/pointwise``.
  static let columnSplitRows = 512

  /// One encoder layer in three phases separated by barriers: the QKV projection by row
  /// chunks, attention by (sequence, head), then everything after attention by row
  /// chunks (it is all per token), each lane running a chunk through to the end; the
  /// lanes claim chunks (``rowsPerChunk(_:)``), so a slower vCPU takes fewer.
  private func run(_ layer: Layer, on x: UnsafeMutablePointer<Float>, lengths: [Int], length: Int, scratch: Scratch) {
    let h = Self.hidden
    let rows = lengths.count * length
    if rows <= Self.columnSplitRows { return runSplittingColumns(layer, on: x, rows: rows, lengths: lengths, length: length, scratch: scratch) }
    let x = SendablePointer(x)
    lanes.forEachClaimedChunk(of: rows, size: Self.rowsPerChunk(rows)) { block, _ in
      linearByPanels(
        x.pointer + block.lowerBound * h, rows: block.count, layer.attentionInput, bias: layer.attentionInputBias.pointer,
        into: scratch.projected + block.lowerBound * 3 * h)
    }
    attend(scratch: scratch, lengths: lengths, length: length)
    lanes.forEachClaimedChunk(of: rows, size: Self.rowsPerChunk(rows)) { block, _ in
      let (start, count) = (block.lowerBound, block.count)
      let x = x.pointer + start * h
      let up = scratch.up + start * Self.intermediate
      linearByPanels(scratch.context + start * h, rows: count, layer.output, bias: layer.outputBias.pointer, adding: x, into: x)
      Elementwise.layerNorm(
        x, rows: count, columns: h, gamma: layer.attentionNormGamma.pointer, beta: layer.attentionNormBeta.pointer,
        epsilon: Self.epsilon)
      linearByPanels(x, rows: count, layer.up, bias: layer.upBias.pointer, into: up)
      Elementwise.gelu(up, count: count * Self.intermediate)
      linearByPanels(up, rows: count, layer.down, bias: layer.downBias.pointer, adding: x, into: x)
      Elementwise.layerNorm(
        x, rows: count, columns: h, gamma: layer.outputNormGamma.pointer, beta: layer.outputNormBeta.pointer,
        epsilon: Self.epsilon)
    }
  }

  /// `projection` over `rows` rows on the calling thread, ``columnsPerChunk`` columns at a
  /// time: each chunk's weights stay in the core's cache while every row goes past them.
  private func linearByPanels(
    _ input: UnsafePointer<Float>, rows: Int, _ projection: Projection, bias: UnsafePointer<Float>,
    adding residual: UnsafePointer<Float>? = nil, into output: UnsafeMutablePointer<Float>
  ) {
    for first in stride(from: 0, to: projection.outputs, by: Self.columnsPerChunk) {
      let columns = first..<min(projection.outputs, first + Self.columnsPerChunk)
      projection.apply(input, rows: rows, bias: bias, residual: residual, into: output, columns: columns)
    }
  }

  /// One layer for up to ``columnSplitRows`` rows: every product split by output columns
  /// across the lanes (the residual connections added by the products), the layer norms
  /// between them on the caller's thread.
  private func runSplittingColumns(
    _ layer: Layer, on x: UnsafeMutablePointer<Float>, rows: Int, lengths: [Int], length: Int, scratch: Scratch
  ) {
    let h = Self.hidden
    linearByColumns(x, rows: rows, layer.attentionInput, bias: layer.attentionInputBias.pointer, into: scratch.projected)
    attend(scratch: scratch, lengths: lengths, length: length)
    linearByColumns(scratch.context, rows: rows, layer.output, bias: layer.outputBias.pointer, adding: x, into: x)
    Elementwise.layerNorm(
      x, rows: rows, columns: h, gamma: layer.attentionNormGamma.pointer, beta: layer.attentionNormBeta.pointer, epsilon: Self.epsilon)
    linearByColumns(x, rows: rows, layer.up, bias: layer.upBias.pointer, into: scratch.up, gelu: true)
    linearByColumns(scratch.up, rows: rows, layer.down, bias: layer.downBias.pointer, adding: x, into: x)
    Elementwise.layerNorm(
      x, rows: rows, columns: h, gamma: layer.outputNormGamma.pointer, beta: layer.outputNormBeta.pointer, epsilon: Self.epsilon)
  }

  /// One product of a layer on the lanes by output columns, each lane claiming
  /// ``columnsPerChunk`` columns at a time (a fixed half each held the faster vCPU at the
  /// barrier: this VM's vCPUs differ up to 1.7× in speed for stretches; median batch 1
  /// short 2.83 → 2.59 ms, docs/BENCHMARKS.md, twentieth session); with `gelu`, a lane
  /// then applies GELU to its columns of each row while they are in its cache. With
  /// `residual` (which may be `output`: the residual connections add in place), the kernel
  /// adds it as it writes each tile, instead of a pass of its own on the caller's thread.
  private func linearByColumns(
    _ input: UnsafePointer<Float>, rows: Int, _ projection: Projection, bias: UnsafePointer<Float>,
    adding residual: UnsafePointer<Float>? = nil, into output: UnsafeMutablePointer<Float>, gelu: Bool = false
  ) {
    let (source, biases, target) = (SendableReadPointer(input), SendableReadPointer(bias), SendablePointer(output))
    let added = residual.map(SendableReadPointer.init)
    let outputs = projection.outputs
    lanes.forEachClaimedChunk(of: outputs, size: Self.columnsPerChunk) { columns, _ in
      projection.apply(
        source.pointer, rows: rows, bias: biases.pointer, residual: added?.pointer, into: target.pointer, columns: columns)
      guard gelu else { return }
      for row in 0..<rows { Elementwise.gelu(target.pointer + row * outputs + columns.lowerBound, count: columns.count) }
    }
  }

  /// Scaled dot-product attention for every (sequence, head) pair, reading Q, K and V
  /// from their column ranges of the fused projection.
  private func attend(scratch: Scratch, lengths: [Int], length: Int) {
    let h = Self.hidden
    let stride = 3 * h
    lanes.forEachTask(lengths.count * Self.heads) { pair, lane in
      let (sequence, head) = pair.quotientAndRemainder(dividingBy: Self.heads)
      let rows = scratch.projected + sequence * length * stride
      let (q, k, v) = (rows + head * Self.headSize, rows + h + head * Self.headSize, rows + 2 * h + head * Self.headSize)
      let scores = scratch.scores + lane * scratch.scoreBlock
      // scores[length × length] = Q_h · K_hᵀ / √d, keys past the sequence masked.
      Gemm.multiply(
        q, lda: stride, k, ldb: stride, into: scores, ldc: length, m: length, n: length, k: Self.headSize,
        bTransposed: true, alpha: 1 / Float(Self.headSize).squareRoot())
      Elementwise.softmax(scores, rows: length, columns: length, valid: lengths[sequence])
      Gemm.multiply(
        scores, lda: length, v, ldb: stride, into: scratch.context + sequence * length * h + head * Self.headSize,
        ldc: h, m: length, n: Self.headSize, k: length, bTransposed: false)
    }
  }

  /// Mean over the sequence's real tokens, then L2 normalisation.
  private func pool(_ x: [Float], sequence: Int, length: Int, valid: Int) -> [Float] {
    let h = Self.hidden
    var mean = [Float](repeating: 0, count: h)
    for position in 0..<valid {
      let row = (sequence * length + position) * h
      for column in 0..<h { mean[column] += x[row + column] }
    }
    let count = Float(max(valid, 1))
    for column in 0..<h { mean[column] /= count }
    let norm = max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
    return mean.map { $0 / norm }
  }
}
