import ArgumentParser
import Foundation
import SwiftProtobuf
import WeftClient
import WeftModels
import WeftProtocol

/// `weft-bench speech`: Silero VAD per-chunk time and real-time factor against
/// onnxruntime running the package's ONNX model, one stream and many, plus detection
/// through the mesh, in one run.
struct SpeechBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "speech",
    abstract: "Per-chunk time and real-time factor of the speech model against onnxruntime, plus mesh throughput.",
    discussion: """
      The audio is the speech fixture (espeak-ng speech with pauses) repeated to --seconds. \
      onnxruntime runs as a subprocess of --python (it needs numpy and onnxruntime) on \
      the package's silero_vad_16k_op15.onnx from the model cache, the way the package's \
      OnnxWrapper runs it: chunk by chunk, one thread per session. Weft runs a stream \
      chunk by chunk too (what a live stream costs), and in blocks of 256 chunks (what a \
      request for a file costs: only the LSTM is sequential). Real-time factor: seconds \
      of audio per second of compute, per core.
      """)

  @OptionGroup var baseline: ModelBenchOptions
  @Option(help: "Seconds of audio per stream.")
  var seconds = 60
  @Option(help: "Requests sent through the mesh.")
  var requests = 64

  func run() async throws {
    let threads = baseline.threads
    let fixture = benchRepositoryRoot + "/Tests/WeftModelsTests/Fixtures/speech/speech-pauses-16k.wav"
    let wav = try Data(contentsOf: URL(fileURLWithPath: fixture))
    let clip = try WAVFile.decode(wav).samples
    let chunks = seconds * SileroVAD.sampleRate / SileroVAD.chunkSamples
    let audio = (0..<chunks * SileroVAD.chunkSamples).map { clip[$0 % clip.count] }
    let network = try SileroVAD(weights: SafetensorsFile(path: baseline.modelsDirectory + "/silero-vad-v6/model.safetensors"))
    let lanes = ComputeLanes(count: threads)
    let streamCounts = [threads, 4 * threads]
    print("weft-bench speech: \(seconds) s of audio (\(chunks) chunks) per stream, \(threads) threads, \(baseline.rounds) rounds")

    var weft: [String: [Double]] = [:]
    weft["per-chunk"] = BenchTiming.rounds(baseline.rounds) { Self.chunkByChunk(audio, network: network) }.map { $0 / Double(chunks) }
    weft["blocks"] = BenchTiming.rounds(baseline.rounds) { audio.withUnsafeBufferPointer { _ = SileroVAD.Session(model: network).process($0) } }
      .map { $0 / Double(chunks) }
    for streams in streamCounts {
      weft["streams \(streams)"] = BenchTiming.rounds(max(1, baseline.rounds / 4)) {
        lanes.forEachTask(streams) { _, _ in audio.withUnsafeBufferPointer { _ = SileroVAD.Session(model: network).process($0) } }
      }.map { $0 / Double(chunks * streams) }
    }
    let onnx = try? runOnnxRuntime(audio, streams: streamCounts)
    if onnx == nil { print("onnxruntime baseline unavailable (\(baseline.python) lacks onnxruntime or numpy); Weft figures only") }

    print("")
    print("                                weft µs/chunk  RTF/core   onnxruntime µs/chunk  RTF/core   time ratio")
    func row(_ label: String, _ ours: String, _ theirs: String?, cores: Int) {
      let ourTime = BenchFormat.median(weft[ours]!)
      // Per core: a chunk of n streams on `cores` threads occupies cores × its share.
      let ourFactor = 0.032 / (ourTime * Double(cores))
      var line = label.padding(toLength: 32, withPad: " ", startingAt: 0)
        + BenchFormat.column(ourTime * 1e6, 13, 1) + BenchFormat.column(ourFactor, 10, 0)
      if let theirs, let times = onnx?[theirs] {
        let theirTime = BenchFormat.median(times)
        line += BenchFormat.column(theirTime * 1e6, 22, 1) + BenchFormat.column(0.032 / (theirTime * Double(cores)), 10, 0)
          + BenchFormat.column(ourTime / theirTime, 12, 2) + "x"
      }
      print(line)
    }
    row("1 stream, chunk by chunk", "per-chunk", "per-chunk", cores: 1)
    row("1 stream, blocks of 256 chunks", "blocks", "per-chunk", cores: 1)
    for streams in streamCounts {
      row("\(streams) streams on \(threads) threads", "streams \(streams)", "streams \(streams)", cores: threads)
    }
    print("(onnxruntime always runs chunk by chunk; time ratio = weft ÷ onnxruntime, lower is better)")
    try inputCosts(wav: wav, clip: clip)
    try await meshThroughput(wav)
  }

  /// What a request pays before the model: decoding its WAV, resampling other rates.
  private func inputCosts(wav: Data, clip: [Float]) throws {
    let decode = BenchFormat.median(BenchTiming.rounds(baseline.rounds) { _ = try? WAVFile.decode(wav) })
    let clipSeconds = Double(clip.count) / Double(SileroVAD.sampleRate)
    print("")
    print("input, one thread, the \(String(format: "%.1f", clipSeconds)) s clip: decode 16-bit WAV \(BenchFormat.column(decode * 1e3, 0, 3)) ms")
    for rate in [8_000, 22_050, 44_100, 48_000] {
      // The clip as if recorded at `rate`: what matters here is the sample count and ratio.
      let source = try AudioResampler.resample(MonoAudio(samples: clip, sampleRate: SileroVAD.sampleRate), to: rate)
      let time = BenchFormat.median(BenchTiming.rounds(baseline.rounds) { _ = try? AudioResampler.resample(source, to: SileroVAD.sampleRate) })
      print("  resample \(rate) Hz → 16 kHz (libsoxr HQ): \(BenchFormat.column(time * 1e3, 0, 2)) ms, "
        + "\(BenchFormat.column(clipSeconds / time, 0, 0))× real time")
    }
  }

  /// One 512-sample chunk per call, as a live stream arrives.
  private static func chunkByChunk(_ audio: [Float], network: SileroVAD) {
    let session = SileroVAD.Session(model: network)
    audio.withUnsafeBufferPointer { all in
      for start in stride(from: 0, to: all.count, by: SileroVAD.chunkSamples) {
        _ = session.process(UnsafeBufferPointer(rebasing: all[start..<start + SileroVAD.chunkSamples]))
      }
    }
  }

  private func runOnnxRuntime(_ audio: [Float], streams: [Int]) throws -> [String: [Double]] {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("weft-bench-speech-\(getpid()).f32")
    try audio.withUnsafeBytes { try Data($0).write(to: path) }
    defer { try? FileManager.default.removeItem(at: path) }
    return try baseline.pytorchTimes(
      script: "speech/onnxruntime_reference.py",
      arguments: [baseline.modelsDirectory + "/silero-vad-v6/silero_vad_16k_op15.onnx"],
      request: ["samples": path.path, "streams": streams])
  }

  /// Detections per second of one WAV through a gateway and one speech worker, 16 in
  /// flight, decoding and segmenting included.
  private func meshThroughput(_ wav: Data) async throws {
    let mesh = try await BenchMesh.start(
      worker: ["--model", "speech", "--max-batch-size", "8", "--capacity", "16"] + baseline.workerArguments)
    defer { mesh.stop() }
    let client = try WeftClient(gateways: [mesh.frontend])
    defer { client.close() }
    var request = Weft_V1_DetectRequest()
    request.audio.wav = wav
    let body = try request.serializedData()
    _ = try await client.call(SpeechService.detect.service, SpeechService.detect.name, body: [body])  // the worker is registered and warm
    let elapsed = try await BenchTiming.concurrently(requests: requests, inFlight: 16) {
      _ = try await client.call(SpeechService.detect.service, SpeechService.detect.name, body: [body])
    }
    let clipSeconds = Double(wav.count - 44) / 2 / Double(SileroVAD.sampleRate)
    print("")
    print("through the mesh, 16 in flight, a \(String(format: "%.1f", clipSeconds)) s WAV per speech.detect request")
    print("  \(BenchFormat.column(Double(requests) / elapsed, 0, 1)) requests/s, "
      + "\(BenchFormat.column(Double(requests) * clipSeconds / elapsed, 0, 0)) s of audio per second")
  }
}
