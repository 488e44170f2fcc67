import Foundation
import SwiftProtobuf
import WeftProtocol

/// One `speech/detect.live` call: the LSTM state, the segmenter and the resampler carried
/// across the call's pieces of audio, so the segments and probabilities equal those of
/// `speech/detect` on the whole recording.
///
/// Audio is cut into 32 ms chunks as it comes; samples short of a chunk wait for the
/// next piece, and at the half-close the last partial chunk is padded with zeros, as
/// `detect` does. A response goes out for a step that made a segment final (or, with
/// `include_probabilities`, processed a chunk); the final one carries the rest.
final class LiveDetection: ModelStream, @unchecked Sendable {
  // @unchecked: the runtime runs one step of a stream at a time (ModelStream's rule).
  private let session: SileroVAD.Session
  private var format: Format?
  private var rules = SegmentRules()
  private var segmenter = SpeechSegmenter(audioLength: .max)
  private var resampler: StreamingResampler?
  /// 16 kHz samples short of a whole chunk, waiting for more.
  private var pending: [Float] = []
  /// Input samples per channel so far, and 16 kHz samples made of them.
  private var inputSamples = 0
  private var convertedSamples = 0
  private var chunksDone = 0

  /// What the call's first piece set.
  private struct Format: Equatable {
    var encoding: Weft_V1_LiveAudio.Encoding
    var sampleRate: Int
    var channels: Int
    var options: Weft_V1_SegmentOptions?
    var includeProbabilities: Bool
  }

  /// Chunks a session runs in one block: 1 s of audio, about 450 KB of scratch per call.
  static let blockChunks = 32

  init(network: SileroVAD) {
    session = SileroVAD.Session(model: network, expectedChunks: Self.blockChunks)
  }

  func advance(messages: [[Data]], ended: Bool, deadline: ContinuousClock.Instant) throws(WeftError) -> StreamOutput {
    var probabilities: [Float] = []
    var segments: [SampleRange] = []
    for message in messages {
      guard ContinuousClock.now < deadline else { throw WeftError(.deadlineExceeded, "deadline passed during the call") }
      let samples = try take(message)
      try run(samples, probabilities: &probabilities, segments: &segments)
    }
    var response = Weft_V1_DetectResponse()
    response.model = VoiceActivityModel.modelName
    response.inputSampleRate = UInt32(format?.sampleRate ?? SileroVAD.sampleRate)
    if ended { try finish(probabilities: &probabilities, segments: &segments, into: &response) }
    response.processed = Double(min(chunksDone * SileroVAD.chunkSamples, convertedSamples)) / Double(SileroVAD.sampleRate)
    response.segments = segments.map(Weft_V1_SpeechSegment.init)
    let wantsProbabilities = format?.includeProbabilities == true
    if wantsProbabilities && !probabilities.isEmpty {
      response.probabilities = .float32(shape: [probabilities.count], values: probabilities, name: "probabilities")
    }
    guard ended || !segments.isEmpty || (wantsProbabilities && !probabilities.isEmpty) else { return StreamOutput() }
    let body = try VoiceActivityModel.serialized(response)
    return ended ? StreamOutput(final: .ok([body])) : StreamOutput(responses: [.ok([body])])
  }

  /// Checks one message and returns its samples, mono at the call's rate.
  private func take(_ message: [Data]) throws(WeftError) -> [Float] {
    guard message.count == 1 else {
      throw WeftError(.invalidArgument, "speech/detect.live takes one body frame holding a LiveAudio per message; got \(message.count)")
    }
    let piece: Weft_V1_LiveAudio
    do {
      piece = try Weft_V1_LiveAudio(serializedBytes: message[0])
    } catch {
      throw WeftError(.invalidArgument, "message is not a LiveAudio: \(error)")
    }
    let format = try adopt(piece)
    let width = format.encoding == .pcm16 ? 2 : 4
    let frame = width * format.channels
    guard piece.samples.count % frame == 0 else {
      throw WeftError(
        .invalidArgument,
        "samples are \(piece.samples.count) bytes, not a whole number of \(frame)-byte frames (\(format.channels) channel(s) of \(format.encoding == .pcm16 ? "PCM16" : "FLOAT32"))")
    }
    let count = piece.samples.count / width
    let interleaved = piece.samples.withUnsafeBytes { raw in
      [Float](unsafeUninitializedCapacity: count) { out, initialized in
        if format.encoding == .pcm16 {
          for i in 0..<count { out[i] = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) / 32_768 }
        } else {
          for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        }
        initialized = count
      }
    }
    if format.encoding != .pcm16, let problem = MonoAudio.finiteProblem(interleaved) { throw WeftError(.invalidArgument, problem) }
    let mono = format.channels == 1 ? interleaved : interleaved.withUnsafeBufferPointer { MonoAudio.mixDown($0, channels: format.channels) }
    inputSamples += mono.count
    guard inputSamples / format.sampleRate <= VoiceActivityModel.maxSeconds else {
      throw WeftError(.resourceExhausted, "the call has sent \(inputSamples / format.sampleRate) s of audio; at most \(VoiceActivityModel.maxSeconds) s per call")
    }
    return mono
  }

  /// The call's format: set by the first piece; later pieces leave fields unset or repeat them.
  private func adopt(_ piece: Weft_V1_LiveAudio) throws(WeftError) -> Format {
    let requested = Format(
      encoding: piece.encoding, sampleRate: piece.sampleRate == 0 ? SileroVAD.sampleRate : Int(piece.sampleRate),
      channels: piece.channels == 0 ? 1 : Int(piece.channels), options: piece.hasOptions ? piece.options : nil,
      includeProbabilities: piece.includeProbabilities)
    guard let format else {
      if let problem = MonoAudio.rateProblem(requested.sampleRate, named: "sample_rate") { throw WeftError(.invalidArgument, problem) }
      guard requested.channels <= MonoAudio.maxChannels else {
        throw WeftError(.invalidArgument, "channels is \(requested.channels); at most \(MonoAudio.maxChannels)")
      }
      rules = try SegmentRules(requested.options)
      segmenter = SpeechSegmenter(rules: rules, audioLength: .max)
      if requested.sampleRate != SileroVAD.sampleRate {
        resampler = try StreamingResampler(from: requested.sampleRate, to: SileroVAD.sampleRate)
      }
      self.format = requested
      return requested
    }
    func changed(_ name: String, _ was: some Any, _ now: some Any) -> WeftError {
      WeftError(.invalidArgument, "\(name) changed from \(was) to \(now) during the call; the first piece sets it")
    }
    if piece.encoding != .float32 && piece.encoding != format.encoding { throw changed("encoding", format.encoding, piece.encoding) }
    if piece.sampleRate != 0 && requested.sampleRate != format.sampleRate { throw changed("sample_rate", format.sampleRate, piece.sampleRate) }
    if piece.channels != 0 && requested.channels != format.channels { throw changed("channels", format.channels, piece.channels) }
    if piece.hasOptions && requested.options != format.options { throw WeftError(.invalidArgument, "options changed during the call; the first piece sets them") }
    return format
  }

  /// Resamples `samples` if needed and runs every whole chunk there is.
  private func run(_ samples: [Float], probabilities: inout [Float], segments: inout [SampleRange]) throws(WeftError) {
    let converted = try resampler?.process(samples) ?? samples
    convertedSamples += converted.count
    pending += converted
    runWholeChunks(probabilities: &probabilities, segments: &segments)
  }

  private func runWholeChunks(probabilities: inout [Float], segments: inout [SampleRange]) {
    let chunk = SileroVAD.chunkSamples
    let whole = pending.count / chunk * chunk
    guard whole > 0 else { return }
    let part = pending.withUnsafeBufferPointer { session.process(UnsafeBufferPointer(rebasing: $0[0..<whole])) }
    pending.removeFirst(whole)
    chunksDone += part.count
    probabilities += part
    for probability in part { segments += segmenter.add(probability) }
  }

  /// The half-close: the resampler's tail, the last chunk padded with zeros, the rest of
  /// the segments and the duration, as `detect` computes them for the whole recording.
  private func finish(probabilities: inout [Float], segments: inout [SampleRange], into response: inout Weft_V1_DetectResponse) throws(WeftError) {
    if let resampler, let format {
      var tail = try resampler.flush()
      // The length `detect`'s one-shot resampling gives the whole recording.
      let expected = Int((Double(inputSamples) * Double(SileroVAD.sampleRate) / Double(format.sampleRate)).rounded())
      tail.removeLast(max(0, min(tail.count, convertedSamples + tail.count - expected)))
      convertedSamples += tail.count
      pending += tail
      runWholeChunks(probabilities: &probabilities, segments: &segments)
    }
    if !pending.isEmpty {
      pending += repeatElement(0, count: SileroVAD.chunkSamples - pending.count)
      runWholeChunks(probabilities: &probabilities, segments: &segments)
    }
    segments += segmenter.finish(audioLength: convertedSamples)
    response.duration = Double(convertedSamples) / Double(SileroVAD.sampleRate)
  }
}
