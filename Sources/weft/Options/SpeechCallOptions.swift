import ArgumentParser
import Foundation
import SwiftProtobuf
import WeftModels
import WeftProtocol

/// `weft call speech.detect` / `speech.detect.stream`: the audio file and segment rules,
/// and how the reply is printed.
struct SpeechCallOptions: ParsableArguments {
  @Option(help: "speech.detect / speech.detect.stream: a WAV file (any rate; resampled to 16 kHz). Sends a DetectRequest.")
  var audio: String?
  @Option(help: "speech: probability at or above which a chunk is speech (default 0.5).")
  var threshold: Float?
  @Option(help: "speech: probability below which speech ends (default threshold − 0.15).")
  var negThreshold: Float?
  @Option(help: "speech: drop segments shorter than this (default 250).")
  var minSpeechMs: UInt32?
  @Option(help: "speech: silence that ends a segment (default 100).")
  var minSilenceMs: UInt32?
  @Option(help: "speech: padding on each side of a segment (default 30).")
  var speechPadMs: UInt32?
  @Option(help: "speech: split segments longer than this (default: no limit).")
  var maxSpeechS: Float?
  @Flag(help: "speech: leave the per-chunk probabilities out of the reply.")
  var noProbabilities = false
  @Flag(help: "speech.detect.live: send the audio at the pace it plays (see --speed).")
  var realtime = false
  @Option(help: "speech.detect.live with --realtime: this many times faster than it plays.")
  var speed: Double = 1
  @Option(help: "speech.detect.live: milliseconds of audio per message.")
  var pieceMs: Int = 100

  private var setsRules: Bool {
    threshold != nil || negThreshold != nil || minSpeechMs != nil || minSilenceMs != nil || speechPadMs != nil || maxSpeechS != nil
  }

  func validate(service: String) throws {
    if audio != nil && service != SpeechService.name {
      throw ValidationError("--audio is for the speech service's methods (speech.detect, speech.detect.stream)")
    }
    if setsRules && audio == nil { throw ValidationError("segment options need --audio") }
    guard speed > 0 && speed.isFinite else { throw ValidationError("--speed must be above 0") }
    guard (1...60_000).contains(pieceMs) else { throw ValidationError("--piece-ms must be 1 to 60000") }
  }

  /// `--audio` cut into `detect.live` pieces of `--piece-ms` at the file's own rate, FLOAT32;
  /// the first sets the format. Nil when `--audio` was not given.
  func livePieces() throws -> [Weft_V1_LiveAudio]? {
    guard let audio else { return nil }
    guard let contents = FileManager.default.contents(atPath: audio) else { throw ValidationError("cannot read audio file \(audio)") }
    let decoded = try WAVFile.decode(contents)
    let step = max(1, decoded.sampleRate * pieceMs / 1_000)
    var pieces = stride(from: 0, to: decoded.samples.count, by: step).map { start in
      var piece = Weft_V1_LiveAudio()
      piece.samples = decoded.samples[start..<min(start + step, decoded.samples.count)].withUnsafeBytes { Data($0) }
      return piece
    }
    if pieces.isEmpty { pieces = [Weft_V1_LiveAudio()] }
    pieces[0].sampleRate = UInt32(decoded.sampleRate)
    pieces[0].includeProbabilities = !noProbabilities
    if let options = segmentOptions() { pieces[0].options = options }
    return pieces
  }

  /// How long a piece plays at `--speed`, when `--realtime` paces the sending.
  var pacing: Duration? { realtime ? .microseconds(Int64(Double(pieceMs) * 1_000 / speed)) : nil }

  /// The DetectRequest for `--audio`, or nil when it was not given.
  func body() throws -> Data? {
    guard let audio else { return nil }
    guard let contents = FileManager.default.contents(atPath: audio) else { throw ValidationError("cannot read audio file \(audio)") }
    var request = Weft_V1_DetectRequest()
    request.audio.wav = contents
    request.omitProbabilities = noProbabilities
    if let options = segmentOptions() { request.options = options }
    return try request.serializedData()
  }

  /// The segment rules the flags set; nil when none is set (the defaults apply).
  private func segmentOptions() -> Weft_V1_SegmentOptions? {
    if setsRules {
      // A present SegmentOptions is taken as given, so unset flags get the defaults (0
      // means "derived" for the negative threshold and "none" for the maximum length).
      let defaults = SegmentRules()
      var options = Weft_V1_SegmentOptions()
      options.threshold = threshold ?? Float(defaults.threshold)
      options.negThreshold = negThreshold ?? 0
      options.minSpeechMs = minSpeechMs ?? UInt32(defaults.minSpeechMilliseconds)
      options.minSilenceMs = minSilenceMs ?? UInt32(defaults.minSilenceMilliseconds)
      options.speechPadMs = speechPadMs ?? UInt32(defaults.speechPadMilliseconds)
      options.maxSpeechS = maxSpeechS ?? 0
      return options
    }
    return nil
  }

  /// A DetectResponse's fields for `--json`, and lines for people.
  static func reply(body: Data) -> (fields: [String: Any], lines: [String])? {
    guard let reply = try? Weft_V1_DetectResponse(serializedBytes: body) else { return nil }
    var fields: [String: Any] = [
      "segments": reply.segments.map {
        ["start": $0.start, "end": $0.end, "start_sample": Int($0.startSample), "end_sample": Int($0.endSample)] as [String: Any]
      },
      "duration": reply.duration, "processed": reply.processed, "input_sample_rate": Int(reply.inputSampleRate),
      "model": reply.model,
    ]
    var lines = reply.segments.map { String(format: "speech %8.3f – %8.3f s", $0.start, $0.end) }
    var summary: [String] = []
    if reply.duration > 0 {  // a final reply (partial ones carry only their segment)
      summary.append(String(format: "%.2f s of audio at %d Hz", reply.duration, reply.inputSampleRate))
    }
    if reply.hasProbabilities, let probabilities = try? reply.probabilities.float32Values() {
      fields["probabilities"] = probabilities
      summary.append("\(probabilities.count) chunks of 32 ms, \(probabilities.filter { $0 >= 0.5 }.count) at or above 0.5")
    }
    if !summary.isEmpty { lines.append(summary.joined(separator: ", ")) }
    return (fields, lines)
  }
}
