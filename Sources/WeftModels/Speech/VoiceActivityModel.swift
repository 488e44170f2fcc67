import Foundation
import SwiftProtobuf
import WeftProtocol

/// Service `speech`: Silero VAD v6 voice activity detection.
///
/// - `detect`: a `DetectRequest` (a WAV file or raw samples) → a `DetectResponse` with
///   one speech probability per 32 ms chunk and the speech segments.
/// - `detect.stream` (server-streaming): the same request; one partial response per
///   segment as soon as it is final, then a final response with the rest.
/// - `detect.live` (bidirectional): `LiveAudio` pieces of any size in, segments out as
///   soon as each is final (``LiveDetection``); open calls' steps run side by side on
///   the compute lanes.
///
/// Each request runs on a session of its own (LSTM state and context start from
/// silence), so nothing carries over between requests; the requests of a batch run on
/// the compute lanes side by side. Audio not at 16 kHz is resampled by libsoxr.
public struct VoiceActivityModel: StreamingModel {
  public let descriptor: ModelDescriptor
  private let network: SileroVAD
  private let lanes: ComputeLanes
  static let modelName = "silero-vad-v6"
  /// Longest audio a request may carry, in seconds at 16 kHz (bounds a worker's memory:
  /// 4 bytes per sample for the audio, 4 per chunk for the probabilities).
  public static let maxSeconds = 4 * 3_600

  /// Loads `model.safetensors` from `directory`.
  public init(
    directory: String, version: String = "silero-vad-v6", maxBatchSize: Int = 8,
    maxBatchDelay: Duration = .milliseconds(2), lanes: ComputeLanes = ComputeLanes()
  ) throws {
    network = try SileroVAD(
      weights: SafetensorsFile.modelWeights(
        in: directory, model: "speech", source: "silero-vad from PyPI and copies its ONNX model's weights"))
    self.lanes = lanes
    descriptor = ModelDescriptor(
      service: SpeechService.name, version: version,
      methods: SpeechService.methods,
      maxBatchSize: maxBatchSize, maxBatchDelay: maxBatchDelay)
  }

  public func infer(_ batch: [InferenceRequest], partials: PartialSink) throws -> [InferenceResponse] {
    let results = PreparedSlots<Data>(count: batch.count)
    let network = network
    lanes.forEachTask(batch.count) { index, _ in
      results.set(index, Result { () throws(WeftError) -> Data in
        try Self.detect(batch[index], network: network) { partial in partials.emit(.ok([partial]), for: index) }
      })
    }
    return batch.indices.map { index in
      switch results[index] {
      case .success(let body): .ok([body])
      case .failure(let error): .failure(error)
      }
    }
  }

  public func openStream(_ request: InferenceRequest) throws(WeftError) -> any ModelStream {
    guard request.method == SpeechService.detectLive.name else {
      throw WeftError(.unimplemented, "speech/\(request.method) is not a streaming method")
    }
    return LiveDetection(network: network)
  }

  public func advance(_ steps: [StreamStep]) -> [StreamOutput] {
    let outputs = PreparedSlots<StreamOutput>(count: steps.count)
    lanes.forEachTask(steps.count) { index, _ in outputs.set(index, .success(steps[index].run())) }
    return steps.indices.map { index in
      switch outputs[index] {
      case .success(let output): output
      case .failure(let error): StreamOutput(final: .failure(error))
      }
    }
  }

  /// Runs one request; a streaming one sends each final segment through `emit`.
  private static func detect(_ request: InferenceRequest, network: SileroVAD, emit: (Data) -> Void) throws(WeftError) -> Data {
    let body = try request.singleBody(of: SpeechService.detect)
    let rules = try SegmentRules(body.hasOptions ? body.options : nil)
    let input = try audio(body.hasAudio ? body.audio : nil)
    // Checked before resampling, which could otherwise multiply a long input by 4.
    guard input.samples.count / input.sampleRate <= maxSeconds else {
      throw WeftError(.resourceExhausted, "audio is \(input.samples.count / input.sampleRate) s long; at most \(maxSeconds) s per request")
    }
    let audio = try AudioResampler.resample(input, to: SileroVAD.sampleRate)
    let streaming = request.method == SpeechService.detectStream.name
    let rate = Double(SileroVAD.sampleRate)
    var response = Weft_V1_DetectResponse()
    response.model = modelName
    response.inputSampleRate = UInt32(input.sampleRate)
    response.duration = Double(audio.samples.count) / rate

    let chunk = SileroVAD.chunkSamples
    let wholeChunks = audio.samples.count / chunk
    let chunks = (audio.samples.count + chunk - 1) / chunk
    let session = SileroVAD.Session(model: network, expectedChunks: chunks)
    var segmenter = SpeechSegmenter(rules: rules, audioLength: audio.samples.count)
    var probabilities: [Float] = []
    probabilities.reserveCapacity(chunks)
    var segments: [SampleRange] = []
    let block = SileroVAD.Session.blockChunks
    try audio.samples.withUnsafeBufferPointer { (all) throws(WeftError) in
      for first in stride(from: 0, to: chunks, by: block) {
        guard ContinuousClock.now < request.deadline else {
          throw WeftError(.deadlineExceeded, "deadline passed after \(first) of \(chunks) chunks")
        }
        let count = min(block, chunks - first)
        let whole = min(count, wholeChunks - first)
        var part = session.process(UnsafeBufferPointer(rebasing: all[first * chunk..<(first + whole) * chunk]))
        if whole < count {
          // The last chunk is padded with zeros to 512 samples, as the reference does; only
          // it is copied, not the whole audio.
          var last = [Float](repeating: 0, count: chunk)
          last.replaceSubrange(0..<all.count - wholeChunks * chunk, with: all[(wholeChunks * chunk)...])
          part += last.withUnsafeBufferPointer { session.process($0) }
        }
        probabilities += part
        for probability in part {
          for segment in segmenter.add(probability) {
            guard streaming else {
              segments.append(segment)
              continue
            }
            var partial = Weft_V1_DetectResponse()
            partial.segments = [Weft_V1_SpeechSegment(segment)]
            partial.processed = Double(min(audio.samples.count, (first + count) * chunk)) / rate
            partial.model = modelName
            emit(try serialized(partial))
          }
        }
      }
    }
    segments += segmenter.finish()
    response.segments = segments.map(Weft_V1_SpeechSegment.init)
    response.processed = response.duration
    if !body.omitProbabilities {
      response.probabilities = .float32(shape: [probabilities.count], values: probabilities, name: "probabilities")
    }
    return try serialized(response)
  }

  /// A reply's body: `response` encoded.
  static func serialized(_ response: Weft_V1_DetectResponse) throws(WeftError) -> Data {
    do {
      return try response.serializedData()
    } catch {
      throw WeftError(.internal, "could not encode the response: \(error)")
    }
  }

  /// The request's audio as mono samples at its own rate.
  static func audio(_ audio: Weft_V1_Audio?) throws(WeftError) -> MonoAudio {
    switch audio?.source {
    case .wav(let bytes)?:
      return try WAVFile.decode(bytes)
    case .samples(let tensor)?:
      let rate = audio!.sampleRate == 0 ? SileroVAD.sampleRate : Int(audio!.sampleRate)
      if let problem = MonoAudio.rateProblem(rate, named: "sample_rate") { throw WeftError(.invalidArgument, problem) }
      guard tensor.shape.count == 1 || (tensor.shape.count == 2 && (1...Int64(MonoAudio.maxChannels)).contains(tensor.shape[1])) else {
        throw WeftError(.invalidArgument, "samples must have shape [samples] or [samples, channels ≤ \(MonoAudio.maxChannels)]; got \(tensor.shape)")
      }
      let values: [Float]
      do {
        values = try tensor.float32Values()
      } catch {
        throw error as? WeftError ?? WeftError(.invalidArgument, "samples: \(error)")
      }
      if let problem = MonoAudio.finiteProblem(values) { throw WeftError(.invalidArgument, problem) }
      let channels = tensor.shape.count == 2 ? Int(tensor.shape[1]) : 1
      return MonoAudio(samples: values.withUnsafeBufferPointer { MonoAudio.mixDown($0, channels: channels) }, sampleRate: rate)
    case nil:
      throw WeftError(.invalidArgument, "request has no audio: set audio.wav (a WAV file's bytes) or audio.samples (FLOAT32)")
    }
  }
}

extension SegmentRules {
  /// The rules a request asks for: the defaults when `options` is absent, else its
  /// fields as given.
  init(_ options: Weft_V1_SegmentOptions?) throws(WeftError) {
    self.init()
    guard let options else { return }
    // Through the shortest decimal form, so 0.3 is compared as the reference's 0.3.
    func decimal(_ value: Float) -> Double { Double("\(value)") ?? Double(value) }
    guard options.threshold > 0 && options.threshold < 1 else {
      throw WeftError(
        .invalidArgument,
        "options.threshold is \(options.threshold); it must be in (0, 1). A present SegmentOptions is taken as given: "
          + "set every field (the defaults are threshold \(threshold), min_speech_ms \(minSpeechMilliseconds), "
          + "min_silence_ms \(minSilenceMilliseconds), speech_pad_ms \(speechPadMilliseconds))")
    }
    guard options.negThreshold >= 0 && options.negThreshold < 1 else {
      throw WeftError(.invalidArgument, "options.neg_threshold is \(options.negThreshold); it must be in [0, 1)")
    }
    guard options.maxSpeechS >= 0 && options.maxSpeechS.isFinite else {
      throw WeftError(.invalidArgument, "options.max_speech_s is \(options.maxSpeechS); it must be ≥ 0 (0: no limit)")
    }
    let limit: UInt32 = 600_000  // ten minutes, in milliseconds
    for (name, value) in [("min_speech_ms", options.minSpeechMs), ("min_silence_ms", options.minSilenceMs), ("speech_pad_ms", options.speechPadMs)] {
      guard value <= limit else { throw WeftError(.invalidArgument, "options.\(name) is \(value); at most \(limit)") }
    }
    threshold = decimal(options.threshold)
    negativeThreshold = options.negThreshold == 0 ? nil : decimal(options.negThreshold)
    minSpeechMilliseconds = Int(options.minSpeechMs)
    minSilenceMilliseconds = Int(options.minSilenceMs)
    speechPadMilliseconds = Int(options.speechPadMs)
    maxSpeechSeconds = options.maxSpeechS == 0 ? .infinity : decimal(options.maxSpeechS)
  }
}

extension Weft_V1_SpeechSegment {
  /// A segment's samples at 16 kHz and its times in seconds.
  init(_ range: SampleRange) {
    self.init()
    startSample = UInt64(range.start)
    endSample = UInt64(range.end)
    start = Double(range.start) / Double(SileroVAD.sampleRate)
    end = Double(range.end) / Double(SileroVAD.sampleRate)
  }
}
