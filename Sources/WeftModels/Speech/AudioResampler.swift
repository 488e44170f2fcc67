import CSoxr
import WeftProtocol

/// Sample-rate conversion through libsoxr (the SoX resampler) at its "HQ" recipe:
/// 20-bit precision, linear phase, pass band flat to 91.3% of the lower Nyquist
/// frequency, stop band from 100%, so below-Nyquist speech is kept and nothing aliases.
public enum AudioResampler {
  /// `audio` at `rate` Hz; unchanged when already there.
  public static func resample(_ audio: MonoAudio, to rate: Int) throws(WeftError) -> MonoAudio {
    guard audio.sampleRate != rate, !audio.samples.isEmpty else { return MonoAudio(samples: audio.samples, sampleRate: rate) }
    // The output is in·out/in samples, rounded, as python-soxr returns (the reference
    // fixtures' length); the headroom lets soxr flush its filter's tail before the cut.
    let expected = Int((Double(audio.samples.count) * Double(rate) / Double(audio.sampleRate)).rounded())
    var output = [Float](repeating: 0, count: expected + 16)
    var produced = 0
    var (ioSpec, quality, runtime) = specs()
    let error = audio.samples.withUnsafeBufferPointer { input in
      output.withUnsafeMutableBufferPointer { out in
        soxr_oneshot(
          Double(audio.sampleRate), Double(rate), 1, input.baseAddress, input.count, nil,
          out.baseAddress, out.count, &produced, &ioSpec, &quality, &runtime)
      }
    }
    if let error {
      throw WeftError(.internal, "resampling \(audio.sampleRate) Hz to \(rate) Hz failed: \(String(cString: error))")
    }
    output.removeSubrange(min(produced, expected)...)
    return MonoAudio(samples: output, sampleRate: rate)
  }

  /// The recipe both ways of resampling use, so a stream and a whole recording agree.
  fileprivate static func specs() -> (soxr_io_spec_t, soxr_quality_spec_t, soxr_runtime_spec_t) {
    (soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I), soxr_quality_spec(UInt(SOXR_HQ), 0), soxr_runtime_spec(1))
  }
}

/// libsoxr resampling a stream piece by piece, with the recipe of
/// ``AudioResampler/resample(_:to:)``: fed a recording in pieces and flushed, it yields
/// what that gives for the whole (cut to the same length by the caller).
final class StreamingResampler {
  private let resampler: soxr_t
  private let ratio: Double

  init(from input: Int, to output: Int) throws(WeftError) {
    var (io, quality, runtime) = AudioResampler.specs()
    var error: soxr_error_t?
    guard let made = soxr_create(Double(input), Double(output), 1, &error, &io, &quality, &runtime), error == nil else {
      throw WeftError(.internal, "could not start resampling \(input) Hz to \(output) Hz: \(error.map { String(cString: $0) } ?? "unknown")")
    }
    resampler = made
    ratio = Double(output) / Double(input)
  }

  deinit { soxr_delete(resampler) }

  /// Resamples the next piece; returns what the filter has ready (it lags the input).
  func process(_ samples: [Float]) throws(WeftError) -> [Float] {
    var output: [Float] = []
    var consumed = 0
    while consumed < samples.count {
      let room = Int(Double(samples.count - consumed) * ratio) + 256
      var taken = 0
      let produced = try run(room: room, into: &output) { out, capacity, done in
        samples.withUnsafeBufferPointer { input in
          soxr_process(resampler, input.baseAddress! + consumed, input.count - consumed, &taken, out, capacity, done)
        }
      }
      consumed += taken
      if taken == 0 && produced == 0 { break }
    }
    return output
  }

  /// Ends the stream: returns the filter's tail.
  func flush() throws(WeftError) -> [Float] {
    var output: [Float] = []
    while try run(room: 4_096, into: &output, { out, capacity, done in soxr_process(resampler, nil, 0, nil, out, capacity, done) }) > 0 {}
    return output
  }

  private func run(
    room: Int, into output: inout [Float],
    _ call: (UnsafeMutablePointer<Float>, Int, UnsafeMutablePointer<Int>) -> soxr_error_t?
  ) throws(WeftError) -> Int {
    let start = output.count
    output.append(contentsOf: repeatElement(0, count: room))
    var produced = 0
    let error = output.withUnsafeMutableBufferPointer { buffer in call(buffer.baseAddress! + start, room, &produced) }
    output.removeSubrange((start + produced)...)
    if let error { throw WeftError(.internal, "resampling failed: \(String(cString: error))") }
    return produced
  }
}
