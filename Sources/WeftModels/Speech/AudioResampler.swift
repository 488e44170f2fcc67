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
    var ioSpec = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
    var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
    var runtime = soxr_runtime_spec(1)
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
}
