import Foundation

/// all-MiniLM-L6-v2: a 6-layer BERT encoder (hidden 384, 12 heads of 32, FFN 1536, GELU),
/// mean pooling over real tokens, L2 normalisation. Weights stay in the mapped
/// safetensors file; every matrix product goes through ``Gemm``.
public final class MiniLMEncoder: Sendable {
  public static let hidden = 384
  static let heads = 12
  static let headSize = 32
  static let intermediate = 1_536
  static let layers = 6
  static let maxPositions = 512
  static let epsilon: Float = 1e-12

  private struct Layer: Sendable {
    let query, queryBias, key, keyBias, value, valueBias: WeightTensor
    let output, outputBias, attentionNormGamma, attentionNormBeta: WeightTensor
    let up, upBias, down, downBias, outputNormGamma, outputNormBeta: WeightTensor
  }

  private let words, positions, types, embeddingNormGamma, embeddingNormBeta: WeightTensor
  private let layers: [Layer]
  /// The vocabulary size (rows of the word embedding).
  public let vocabularySize: Int

  /// Loads the weights from `model.safetensors`, checking every tensor's shape.
  public init(weights file: SafetensorsFile) throws {
    let h = Self.hidden
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
      return Layer(
        query: try tensor("attention.self.query.weight", [h, h]), queryBias: try tensor("attention.self.query.bias", [h]),
        key: try tensor("attention.self.key.weight", [h, h]), keyBias: try tensor("attention.self.key.bias", [h]),
        value: try tensor("attention.self.value.weight", [h, h]), valueBias: try tensor("attention.self.value.bias", [h]),
        output: try tensor("attention.output.dense.weight", [h, h]), outputBias: try tensor("attention.output.dense.bias", [h]),
        attentionNormGamma: try tensor("attention.output.LayerNorm.weight", [h]),
        attentionNormBeta: try tensor("attention.output.LayerNorm.bias", [h]),
        up: try tensor("intermediate.dense.weight", [Self.intermediate, h]), upBias: try tensor("intermediate.dense.bias", [Self.intermediate]),
        down: try tensor("output.dense.weight", [h, Self.intermediate]), downBias: try tensor("output.dense.bias", [h]),
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
      var scratch = Scratch(rows: rows, length: length)
      for layer in layers { run(layer, on: x.baseAddress!, batch: batch, length: length, scratch: &scratch) }
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

  /// Buffers reused across the layers of one batch.
  private struct Scratch {
    var query, key, value, context, attended, up: [Float]
    init(rows: Int, length: Int) {
      let h = MiniLMEncoder.hidden
      query = [Float](repeating: 0, count: rows * h)
      key = query
      value = query
      context = query
      attended = query
      up = [Float](repeating: 0, count: rows * MiniLMEncoder.intermediate)
    }
  }

  private func linear(_ input: UnsafePointer<Float>, rows: Int, _ weight: WeightTensor, _ bias: WeightTensor, into output: UnsafeMutablePointer<Float>) {
    let (outputs, inputs) = (weight.shape[0], weight.shape[1])
    Gemm.multiply(input, weight.pointer, into: output, m: rows, n: outputs, k: inputs, bTransposed: true)
    Elementwise.addBias(output, rows: rows, columns: outputs, bias: bias.pointer)
  }

  private func run(_ layer: Layer, on x: UnsafeMutablePointer<Float>, batch: [[Int32]], length: Int, scratch: inout Scratch) {
    let h = Self.hidden
    let rows = batch.count * length
    let scale = 1 / Float(Self.headSize).squareRoot()
    scratch.query.withUnsafeMutableBufferPointer { q in
      scratch.key.withUnsafeMutableBufferPointer { k in
        scratch.value.withUnsafeMutableBufferPointer { v in
          scratch.context.withUnsafeMutableBufferPointer { context in
            let (q, k, v, context) = (q.baseAddress!, k.baseAddress!, v.baseAddress!, context.baseAddress!)
            linear(x, rows: rows, layer.query, layer.queryBias, into: q)
            linear(x, rows: rows, layer.key, layer.keyBias, into: k)
            linear(x, rows: rows, layer.value, layer.valueBias, into: v)
            attend(q: q, k: k, v: v, into: context, lengths: batch.map(\.count), length: length, scale: scale)
          }
        }
      }
    }
    scratch.context.withUnsafeBufferPointer { context in
      scratch.attended.withUnsafeMutableBufferPointer { attended in
        linear(context.baseAddress!, rows: rows, layer.output, layer.outputBias, into: attended.baseAddress!)
        Elementwise.add(attended.baseAddress!, to: x, count: rows * h)
      }
    }
    Elementwise.layerNorm(x, rows: rows, columns: h, gamma: layer.attentionNormGamma.pointer, beta: layer.attentionNormBeta.pointer, epsilon: Self.epsilon)
    scratch.up.withUnsafeMutableBufferPointer { up in
      scratch.attended.withUnsafeMutableBufferPointer { down in
        linear(x, rows: rows, layer.up, layer.upBias, into: up.baseAddress!)
        Elementwise.gelu(up.baseAddress!, count: rows * Self.intermediate)
        linear(up.baseAddress!, rows: rows, layer.down, layer.downBias, into: down.baseAddress!)
        Elementwise.add(down.baseAddress!, to: x, count: rows * h)
      }
    }
    Elementwise.layerNorm(x, rows: rows, columns: h, gamma: layer.outputNormGamma.pointer, beta: layer.outputNormBeta.pointer, epsilon: Self.epsilon)
  }

  /// Scaled dot-product attention for every (sequence, head) pair. The pairs are many
  /// small products, so they are spread over threads here, each running OpenBLAS
  /// single-threaded: waking OpenBLAS's own threads for every small product cost more
  /// than the product.
  private func attend(
    q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
    into context: UnsafeMutablePointer<Float>, lengths: [Int], length: Int, scale: Float
  ) {
    let h = Self.hidden
    let pairs = lengths.count * Self.heads
    let lanes = min(max(1, Gemm.threads), pairs)
    let (q, k, v, context) = (UnsafeSendable(q), UnsafeSendable(k), UnsafeSendable(v), UnsafeSendable(context))
    let previousThreads = Gemm.threads
    if lanes > 1 { Gemm.setThreads(1) }
    defer { if lanes > 1 { Gemm.setThreads(previousThreads) } }
    DispatchQueue.concurrentPerform(iterations: lanes) { lane in
      let scores = UnsafeMutablePointer<Float>.allocate(capacity: length * length)
      defer { scores.deallocate() }
      for pair in stride(from: lane, to: pairs, by: lanes) {
        let (sequence, head) = pair.quotientAndRemainder(dividingBy: Self.heads)
        let offset = sequence * length * h + head * Self.headSize
        // scores[length × length] = Q_h · K_hᵀ / √d, keys past the sequence masked.
        Gemm.multiply(
          q.pointer + offset, lda: h, k.pointer + offset, ldb: h, into: scores, ldc: length,
          m: length, n: length, k: Self.headSize, bTransposed: true, alpha: scale)
        Elementwise.softmax(scores, rows: length, columns: length, valid: lengths[sequence])
        Gemm.multiply(
          scores, lda: length, v.pointer + offset, ldb: h, into: context.pointer + offset, ldc: h,
          m: length, n: Self.headSize, k: length, bTransposed: false)
      }
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

/// A pointer handed to the threads of one `concurrentPerform`, each writing its own rows.
private struct UnsafeSendable: @unchecked Sendable {
  let pointer: UnsafeMutablePointer<Float>
  init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
