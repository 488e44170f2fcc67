import CWeftKernels
import Foundation

/// Silero VAD v6 at 16 kHz: one speech probability per 512-sample (32 ms) chunk.
///
/// Per chunk, the 64 samples before it are prepended (576), the window is reflect-padded
/// by 64 on the right (640) and cut into four 256-sample frames at a hop of 128; a fixed
/// 258×256 basis (the STFT as a convolution) gives 129 real and 129 imaginary parts per
/// frame, whose magnitudes go through four 3-tap convolutions with ReLU (129→128,
/// 128→64 stride 2, 64→64 stride 2, 64→128), leaving one 128-vector per chunk. An LSTM
/// cell (gates i, f, g, o) carries h and c from chunk to chunk; ReLU(h), a 1×1
/// convolution and a sigmoid give the probability.
///
/// Only the LSTM is sequential, so a ``Session`` runs the front end and the LSTM's input
/// projection for a whole block of chunks as single matrix products (sgemm), then steps
/// the recurrence chunk by chunk with one 512×128 matrix-vector product each.
public final class SileroVAD: Sendable {
  /// The model's sample rate.
  public static let sampleRate = 16_000
  /// Samples per chunk, and so per probability.
  public static let chunkSamples = 512
  static let contextSamples = 64
  static let frameSamples = 256
  static let hopSamples = 128
  static let framesPerChunk = 4
  static let bins = 129
  static let hidden = 128
  static let gates = 4 * hidden

  // Convolution weights are stored as [out][tap][in], the order of an im2col row whose
  // three taps each hold all input channels, so a row is three contiguous copies.
  let basis: [Float]  // [258][256]
  let conv1: [Float], bias1: [Float]  // [128][3·129]
  let conv2: [Float], bias2: [Float]  // [64][3·128]
  let conv3: [Float], bias3: [Float]  // [64][3·64]
  let conv4Center: [Float], bias4: [Float]  // [128][64]: one frame in, so only the centre tap sees data
  let inputWeights: [Float], recurrentWeights: [Float], gateBias: [Float]  // [512][128] ×2, [512]
  let decoder: [Float], decoderBias: Float  // [128], 1

  /// Loads the package's default model from a safetensors file holding the
  /// initializers of `silero_vad_16k_op15.onnx` (scripts/fetch-models.sh makes it).
  public init(weights: SafetensorsFile) throws {
    func tensor(_ name: String, _ shape: [Int]) throws -> [Float] { Array(try weights.float32(name, shape: shape).values) }
    basis = try tensor("model.stft.forward_basis_buffer", [2 * Self.bins, 1, Self.frameSamples])
    let encoder = "model.encoder."
    conv1 = Self.tapMajor(try tensor(encoder + "0.reparam_conv.weight", [128, 129, 3]), outputs: 128, inputs: 129)
    bias1 = try tensor(encoder + "0.reparam_conv.bias", [128])
    conv2 = Self.tapMajor(try tensor(encoder + "1.reparam_conv.weight", [64, 128, 3]), outputs: 64, inputs: 128)
    bias2 = try tensor(encoder + "1.reparam_conv.bias", [64])
    conv3 = Self.tapMajor(try tensor(encoder + "2.reparam_conv.weight", [64, 64, 3]), outputs: 64, inputs: 64)
    bias3 = try tensor(encoder + "2.reparam_conv.bias", [64])
    let conv4 = try tensor(encoder + "3.reparam_conv.weight", [128, 64, 3])
    conv4Center = (0..<128 * 64).map { conv4[$0 * 3 + 1] }
    bias4 = try tensor(encoder + "3.reparam_conv.bias", [128])
    inputWeights = try tensor("model.decoder.rnn.weight_ih", [Self.gates, Self.hidden])
    recurrentWeights = try tensor("model.decoder.rnn.weight_hh", [Self.gates, Self.hidden])
    let biasIH = try tensor("model.decoder.rnn.bias_ih", [Self.gates])
    let biasHH = try tensor("model.decoder.rnn.bias_hh", [Self.gates])
    gateBias = zip(biasIH, biasHH).map(+)
    decoder = try tensor("model.decoder.decoder.2.weight", [1, Self.hidden, 1])
    decoderBias = try tensor("model.decoder.decoder.2.bias", [1])[0]
  }

  /// [out][in][tap] → [out][tap][in].
  private static func tapMajor(_ weight: [Float], outputs: Int, inputs: Int) -> [Float] {
    var out = [Float](repeating: 0, count: weight.count)
    for o in 0..<outputs {
      for i in 0..<inputs {
        for tap in 0..<3 { out[(o * 3 + tap) * inputs + i] = weight[(o * inputs + i) * 3 + tap] }
      }
    }
    return out
  }

  /// One audio stream's state (LSTM h and c, the last 64 samples) and scratch memory.
  /// Not shared between threads; a new session starts from silence, as the reference's
  /// `reset_states` does.
  public final class Session {
    /// Chunks run through the front end in one block: larger blocks make larger matrix
    /// products, smaller ones bound the scratch memory (≈ 14 KB per chunk).
    public static let blockChunks = 256

    let model: SileroVAD
    private var hidden = [Float](repeating: 0, count: SileroVAD.hidden)
    private var cell = [Float](repeating: 0, count: SileroVAD.hidden)
    private var context = [Float](repeating: 0, count: SileroVAD.contextSamples)
    private let scratch: Scratch

    private let capacity: Int

    /// Starts a stream on `model`. `expectedChunks` sizes the scratch memory for a short
    /// input; longer inputs are still taken, in blocks of at most that size.
    public init(model: SileroVAD, expectedChunks: Int = Session.blockChunks) {
      self.model = model
      capacity = max(1, min(Self.blockChunks, expectedChunks))
      scratch = Scratch(chunks: capacity)
    }

    /// Runs whole chunks of 16 kHz audio (`samples.count` a multiple of 512), continuing
    /// the stream; returns one probability per chunk.
    public func process(_ samples: UnsafeBufferPointer<Float>) -> [Float] {
      precondition(samples.count % SileroVAD.chunkSamples == 0, "process takes whole 512-sample chunks")
      let chunks = samples.count / SileroVAD.chunkSamples
      return [Float](unsafeUninitializedCapacity: chunks) { out, initialized in
        var done = 0
        while done < chunks {
          let block = min(capacity, chunks - done)
          let start = samples.baseAddress! + done * SileroVAD.chunkSamples
          runBlock(UnsafeBufferPointer(start: start, count: block * SileroVAD.chunkSamples), into: out.baseAddress! + done)
          done += block
        }
        initialized = chunks
      }
    }

    private func runBlock(_ samples: UnsafeBufferPointer<Float>, into probabilities: UnsafeMutablePointer<Float>) {
      let chunks = samples.count / SileroVAD.chunkSamples
      let s = scratch
      writeFrames(samples, chunks: chunks)
      let frames = chunks * SileroVAD.framesPerChunk
      // STFT: [frames × 256] · basisᵀ → [frames × 258], then magnitudes [frames × 129].
      model.basis.withUnsafeBufferPointer { basis in
        Gemm.linear(s.frames, rows: frames, weight: basis.baseAddress!, bias: nil, outputs: 2 * SileroVAD.bins, inputs: SileroVAD.frameSamples, into: s.spectrum, unpackedRows: Gemm.fewRows)
      }
      for frame in 0..<frames {
        let row = s.spectrum + frame * 2 * SileroVAD.bins
        let magnitude = s.magnitudes + frame * SileroVAD.bins
        for bin in 0..<SileroVAD.bins {
          let re = row[bin], im = row[SileroVAD.bins + bin]
          magnitude[bin] = (re * re + im * im).squareRoot()
        }
      }
      // Encoder: 4 → 4 → 2 → 1 → 1 positions per chunk.
      s.convolve(s.magnitudes, channels: 129, positions: 4, stride: 1, chunks: chunks, weights: model.conv1, bias: model.bias1, into: s.encoded1)
      s.convolve(s.encoded1, channels: 128, positions: 4, stride: 2, chunks: chunks, weights: model.conv2, bias: model.bias2, into: s.encoded2)
      s.convolve(s.encoded2, channels: 64, positions: 2, stride: 2, chunks: chunks, weights: model.conv3, bias: model.bias3, into: s.encoded3)
      model.conv4Center.withUnsafeBufferPointer { weight in
        model.bias4.withUnsafeBufferPointer { bias in
          Gemm.linear(s.encoded3, rows: chunks, weight: weight.baseAddress!, bias: bias.baseAddress!, outputs: 128, inputs: 64, into: s.encoded4, unpackedRows: Gemm.fewRows)
        }
      }
      Elementwise.relu(s.encoded4, count: chunks * 128)
      // The LSTM's input half for every chunk at once, biases folded in.
      model.inputWeights.withUnsafeBufferPointer { weight in
        model.gateBias.withUnsafeBufferPointer { bias in
          Gemm.linear(s.encoded4, rows: chunks, weight: weight.baseAddress!, bias: bias.baseAddress!, outputs: SileroVAD.gates, inputs: 128, into: s.gates, unpackedRows: Gemm.fewRows)
        }
      }
      model.recurrentWeights.withUnsafeBufferPointer { recurrent in
        hidden.withUnsafeMutableBufferPointer { h in
          cell.withUnsafeMutableBufferPointer { c in
            for chunk in 0..<chunks {
              let gates = s.gates + chunk * SileroVAD.gates
              Gemm.multiply(recurrent.baseAddress!, vector: h.baseAddress!, into: gates, rows: SileroVAD.gates, columns: SileroVAD.hidden, beta: 1)
              probabilities[chunk] = model.step(gates: gates, hidden: h.baseAddress!, cell: c.baseAddress!)
            }
          }
        }
      }
      let tail = samples.count - SileroVAD.contextSamples
      for i in 0..<SileroVAD.contextSamples { context[i] = samples[tail + i] }
    }

    /// The four STFT frames of every chunk, row by row, into `scratch.frames`.
    private func writeFrames(_ samples: UnsafeBufferPointer<Float>, chunks: Int) {
      let window = SileroVAD.contextSamples + SileroVAD.chunkSamples  // 576
      for chunk in 0..<chunks {
        // The chunk with its 64 samples of context: contiguous in `samples` except for
        // the block's first chunk, whose context comes from the previous block.
        let source: UnsafePointer<Float>
        if chunk == 0 {
          for i in 0..<SileroVAD.contextSamples { scratch.firstWindow[i] = context[i] }
          (scratch.firstWindow + SileroVAD.contextSamples).update(from: samples.baseAddress!, count: SileroVAD.chunkSamples)
          source = UnsafePointer(scratch.firstWindow)
        } else {
          source = samples.baseAddress! + chunk * SileroVAD.chunkSamples - SileroVAD.contextSamples
        }
        let rows = scratch.frames + chunk * SileroVAD.framesPerChunk * SileroVAD.frameSamples
        for frame in 0..<3 {
          (rows + frame * SileroVAD.frameSamples).update(from: source + frame * SileroVAD.hopSamples, count: SileroVAD.frameSamples)
        }
        // The last frame runs into the reflection padding: x[576 + j] = x[574 − j].
        let last = rows + 3 * SileroVAD.frameSamples
        let inside = window - 3 * SileroVAD.hopSamples  // 192
        last.update(from: source + 3 * SileroVAD.hopSamples, count: inside)
        for j in 0..<SileroVAD.frameSamples - inside { last[inside + j] = source[window - 2 - j] }
      }
    }
  }

  /// One LSTM step from pre-activations `gates` (input and recurrent parts summed);
  /// updates `hidden` and `cell` and returns the chunk's speech probability. The gates'
  /// sigmoid and tanh use the polynomial exp in C (`weft_lstm_cell`): glibc's scalar
  /// `expf` would cost as much as the matrix products.
  @inline(__always)
  func step(gates: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>) -> Float {
    let logit = decoder.withUnsafeBufferPointer { weft_lstm_cell(gates, hidden, cell, $0.baseAddress!, Int32(Self.hidden)) }
    return 1 / (1 + Foundation.exp(-(logit + decoderBias)))
  }
}

/// A session's working memory for one block of chunks, allocated once.
private final class Scratch {
  let frames, spectrum, magnitudes, columns, encoded1, encoded2, encoded3, encoded4, gates, firstWindow: UnsafeMutablePointer<Float>

  init(chunks: Int) {
    // Left uninitialised: every stage writes its rows before the next reads them.
    func buffer(_ count: Int) -> UnsafeMutablePointer<Float> { .allocate(capacity: count) }
    frames = buffer(chunks * 4 * 256)
    spectrum = buffer(chunks * 4 * 258)
    magnitudes = buffer(chunks * 4 * 129)
    columns = buffer(chunks * 4 * 3 * 129)  // the widest im2col: conv1's
    encoded1 = buffer(chunks * 4 * 128)
    encoded2 = buffer(chunks * 2 * 64)
    encoded3 = buffer(chunks * 64)
    encoded4 = buffer(chunks * 128)
    gates = buffer(chunks * 512)
    firstWindow = buffer(576)
  }

  deinit {
    for pointer in [frames, spectrum, magnitudes, columns, encoded1, encoded2, encoded3, encoded4, gates, firstWindow] {
      pointer.deallocate()
    }
  }

  /// A 3-tap convolution with padding 1 over each chunk's `positions` frames
  /// (time-major: one row of `channels` per frame), then bias and ReLU. The im2col rows
  /// never cross chunks: each chunk is padded on its own, as the model sees one at a time.
  func convolve(
    _ input: UnsafeMutablePointer<Float>, channels: Int, positions: Int, stride: Int, chunks: Int,
    weights: [Float], bias: [Float], into output: UnsafeMutablePointer<Float>
  ) {
    let outputsPerChunk = (positions - 1) / stride + 1
    let width = 3 * channels
    for chunk in 0..<chunks {
      for position in 0..<outputsPerChunk {
        let row = columns + (chunk * outputsPerChunk + position) * width
        for tap in 0..<3 {
          let source = position * stride - 1 + tap
          if (0..<positions).contains(source) {
            (row + tap * channels).update(from: input + (chunk * positions + source) * channels, count: channels)
          } else {
            (row + tap * channels).update(repeating: 0, count: channels)
          }
        }
      }
    }
    let rows = chunks * outputsPerChunk
    let outputs = bias.count
    weights.withUnsafeBufferPointer { weight in
      bias.withUnsafeBufferPointer { bias in
        Gemm.linear(columns, rows: rows, weight: weight.baseAddress!, bias: bias.baseAddress!, outputs: outputs, inputs: width, into: output, unpackedRows: Gemm.fewRows)
      }
    }
    Elementwise.relu(output, count: rows * outputs)
  }
}
