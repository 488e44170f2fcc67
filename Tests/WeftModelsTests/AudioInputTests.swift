import Foundation
import Testing
import WeftProtocol

@testable import WeftModels

/// WAV decoding (every accepted sample format, mixdown, and the errors for bad files) and
/// resampling to the speech model's 16 kHz.
@Suite struct AudioInputTests {
  /// A WAV file: a fmt chunk for `format`/`bits`/`channels`/`rate`, optional extra
  /// chunks before the data, and `payload` as the data chunk.
  static func wav(
    format: UInt16 = 1, bits: Int, channels: Int = 1, rate: Int = 16_000, payload: [UInt8],
    extensible: Bool = false, before: [UInt8] = [], dataSize: UInt32? = nil
  ) -> Data {
    var bytes: [UInt8] = []
    func put(_ value: some FixedWidthInteger) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    var fmt: [UInt8] = []
    func fmtPut(_ value: some FixedWidthInteger) { withUnsafeBytes(of: value.littleEndian) { fmt += $0 } }
    fmtPut(extensible ? UInt16(0xFFFE) : format)
    fmtPut(UInt16(channels))
    fmtPut(UInt32(rate))
    fmtPut(UInt32(rate * channels * bits / 8))
    fmtPut(UInt16(channels * bits / 8))
    fmtPut(UInt16(bits))
    if extensible {
      fmtPut(UInt16(22))
      fmtPut(UInt16(bits))
      fmtPut(UInt32(0))
      fmtPut(format)
      fmt += [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
    }
    bytes += Array("RIFF".utf8)
    put(UInt32(0))  // readers here do not rely on the RIFF size
    bytes += Array("WAVEfmt ".utf8)
    put(UInt32(fmt.count))
    bytes += fmt + before
    bytes += Array("data".utf8)
    put(dataSize ?? UInt32(payload.count))
    bytes += payload
    return Data(bytes)
  }

  static func littleEndian(_ values: [some FixedWidthInteger]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
  }

  @Test("every accepted sample format decodes to the same values in [-1, 1]")
  func formats() throws {
    let expected: [Float] = [0, 0.5, -0.5, -1]
    let cases: [(String, Data)] = [
      ("8-bit", Self.wav(bits: 8, payload: [128, 192, 64, 0])),
      ("16-bit", Self.wav(bits: 16, payload: Self.littleEndian([Int16(0), 16_384, -16_384, -32_768]))),
      ("24-bit", Self.wav(bits: 24, payload: [0, 0, 0, 0, 0, 0x40, 0, 0, 0xC0, 0, 0, 0x80])),
      ("32-bit", Self.wav(bits: 32, payload: Self.littleEndian([Int32(0), 1 << 30, -(1 << 30), Int32.min]))),
      ("float32", Self.wav(format: 3, bits: 32, payload: Self.littleEndian(expected.map(\.bitPattern)))),
      ("float64", Self.wav(format: 3, bits: 64, payload: Self.littleEndian(expected.map { Double($0).bitPattern }))),
      ("extensible 16-bit", Self.wav(bits: 16, payload: Self.littleEndian([Int16(0), 16_384, -16_384, -32_768]), extensible: true)),
    ]
    for (name, data) in cases {
      let audio = try WAVFile.decode(data)
      #expect(audio.samples == expected, "\(name)")
      #expect(audio.sampleRate == 16_000)
    }
  }

  @Test("stereo is averaged to mono; odd-sized chunks before the data are skipped with their padding byte")
  func mixdownAndChunks() throws {
    let list: [UInt8] = Array("LIST".utf8) + [3, 0, 0, 0] + [1, 2, 3, 0]  // 3 bytes + 1 pad
    let data = Self.wav(bits: 16, channels: 2, rate: 44_100, payload: Self.littleEndian([Int16(16_384), 0, -32_768, -16_384]), before: list)
    let audio = try WAVFile.decode(data)
    #expect(audio.samples == [0.25, -0.75])
    #expect(audio.sampleRate == 44_100)
  }

  @Test("a data size of 0xFFFFFFFF (written by streaming encoders) means to the end of the file")
  func unknownDataSize() throws {
    let audio = try WAVFile.decode(Self.wav(bits: 16, payload: Self.littleEndian([Int16(16_384), 0]), dataSize: 0xFFFF_FFFF))
    #expect(audio.samples == [0.5, 0])
  }

  @Test("bad files get INVALID_ARGUMENT naming what is wrong")
  func badFiles() {
    let cases: [(Data, String)] = [
      (Data("RIFF".utf8), "too short"),
      (Data("RIFF\0\0\0\0WAVX".utf8), "not a RIFF/WAVE file"),
      (Self.wav(format: 2, bits: 4, payload: []), "format tag 2 is not supported"),
      (Self.wav(bits: 12, payload: []), "12-bit PCM samples are not supported"),
      (Self.wav(format: 3, bits: 16, payload: []), "16-bit float samples are not supported"),
      (Self.wav(bits: 16, channels: 0, payload: []), "0 channels"),
      (Self.wav(bits: 16, rate: 1_000, payload: []), "sample rate 1000 Hz is outside"),
      (Self.wav(bits: 16, payload: [0, 0, 0]), "not a whole number of 2-byte frames"),
      (Self.wav(bits: 16, payload: [0, 0], dataSize: 400), "the data chunk declares 400 bytes, the file has 2"),
      (Self.wav(format: 3, bits: 32, payload: Self.littleEndian([Float.infinity.bitPattern])), "must be finite"),
      (Data("RIFF\0\0\0\0WAVEdata\0\0\0\0".utf8), "data chunk comes before the fmt chunk"),
      (Data("RIFF\0\0\0\0WAVE".utf8), "no fmt chunk"),
    ]
    for (data, message) in cases {
      do {
        let audio = try WAVFile.decode(data)
        Issue.record("decoded \(audio.samples.count) samples; expected an error saying \(message)")
      } catch {
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains(message), "\(error.message)")
      }
    }
  }

  @Test("the 16-bit writer's files read back within half a quantisation step")
  func roundTrip() throws {
    let samples: [Float] = (0..<100).map { sin(Float($0) * 0.1) * 0.9 }
    let audio = try WAVFile.decode(WAVFile.encodePCM16(samples, sampleRate: 8_000))
    #expect(audio.sampleRate == 8_000)
    #expect(zip(audio.samples, samples).allSatisfy { abs($0 - $1) <= 0.5 / 32_768 })
  }

  @Test("resampling to 16 kHz keeps the length in time and a tone's shape", arguments: [8_000, 22_050, 44_100, 48_000])
  func resampling(rate: Int) throws {
    let seconds = 0.5
    let count = Int(Double(rate) * seconds)
    func tone(at index: Int, rate: Int) -> Float {
      let phase: Double = 2 * Double.pi * 440 * Double(index) / Double(rate)
      return Float(sin(phase) * 0.5)
    }
    let signal = (0..<count).map { tone(at: $0, rate: rate) }
    let resampled = try AudioResampler.resample(MonoAudio(samples: signal, sampleRate: rate), to: 16_000)
    #expect(resampled.sampleRate == 16_000)
    #expect(resampled.samples.count == 8_000)
    // Away from the edges (where the filter sees the signal start and stop), the output
    // is the same tone sampled at 16 kHz: libsoxr's HQ recipe is good to about −100 dB.
    let worst = (1_000..<7_000).map { abs(resampled.samples[$0] - tone(at: $0, rate: 16_000)) }.max() ?? 1
    #expect(worst < 1e-3, "\(rate) Hz: largest error \(worst)")
  }

  @Test("audio already at 16 kHz passes through unchanged")
  func passThrough() throws {
    let samples: [Float] = [0.1, -0.2, 0.3]
    #expect(try AudioResampler.resample(MonoAudio(samples: samples, sampleRate: 16_000), to: 16_000).samples == samples)
  }
}
