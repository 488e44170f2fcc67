import Foundation
import WeftProtocol

/// Mono audio at some sample rate: what the speech model's front end receives.
public struct MonoAudio: Sendable, Equatable {
  /// Samples in [-1, 1].
  public var samples: [Float]
  /// Samples per second.
  public var sampleRate: Int

  /// Creates audio from samples at `sampleRate`.
  public init(samples: [Float], sampleRate: Int) {
    self.samples = samples
    self.sampleRate = sampleRate
  }

  /// Rates accepted from clients: telephone-band 4 kHz up to 384 kHz studio audio.
  public static let acceptedRates = 4_000...384_000
  /// Most channels mixed down.
  public static let maxChannels = 64

  /// Why `rate` (named `name` in the message) is refused, or nil if it is accepted.
  static func rateProblem(_ rate: Int, named name: String) -> String? {
    acceptedRates.contains(rate) ? nil : "\(name) \(rate) Hz is outside \(acceptedRates.lowerBound)–\(acceptedRates.upperBound)"
  }

  /// Why `samples` are refused (a NaN or infinity among them), or nil if all are finite;
  /// the scan for the culprit runs only when there is one.
  static func finiteProblem(_ samples: [Float]) -> String? {
    if samples.allFinite { return nil }
    return "samples must be finite, found \(samples.first { !$0.isFinite }!)"
  }

  /// Averages interleaved `channels` into one, as the reference's loader does (`mean`).
  static func mixDown(_ interleaved: UnsafeBufferPointer<Float>, channels: Int) -> [Float] {
    guard channels > 1 else { return Array(interleaved) }
    let frames = interleaved.count / channels
    let scale = 1 / Float(channels)
    return [Float](unsafeUninitializedCapacity: frames) { out, initialized in
      for frame in 0..<frames {
        var sum: Float = 0
        for channel in 0..<channels { sum += interleaved[frame * channels + channel] }
        out[frame] = sum * scale
      }
      initialized = frames
    }
  }
}

/// Reads RIFF/WAVE files: PCM 8-bit unsigned, 16/24/32-bit signed, IEEE float 32/64-bit,
/// plain or WAVE_FORMAT_EXTENSIBLE, any channel count up to ``MonoAudio/maxChannels``
/// (mixed down to mono). Anything else is an INVALID_ARGUMENT that names what is wrong.
public enum WAVFile {
  private static let pcm: UInt16 = 1
  private static let ieeeFloat: UInt16 = 3
  private static let extensible: UInt16 = 0xFFFE
  /// Writers that stream to a pipe put these in the data chunk's size: "until the end".
  private static let unknownSizes: Set<UInt32> = [0, 0xFFFF_FFFF]

  /// Decodes `data`, a whole WAV file, to mono samples at the file's rate.
  public static func decode(_ data: Data) throws(WeftError) -> MonoAudio {
    // Read in place: a request's WAV can be tens of megabytes.
    try data.withUnsafeBytes { bytes in Result { () throws(WeftError) in try decode(bytes) } }.get()
  }

  private static func decode(_ bytes: UnsafeRawBufferPointer) throws(WeftError) -> MonoAudio {
    guard bytes.count >= 12 else { throw invalid("file is \(bytes.count) bytes, too short for a RIFF header") }
    guard bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8) else {
      throw invalid("not a RIFF/WAVE file (it starts with \(describeTag(bytes, at: 0)))")
    }
    var format: Format?
    var offset = 12
    while offset + 8 <= bytes.count {
      let tag = describeTag(bytes, at: offset)
      let declared = readUInt32(bytes, at: offset + 4)
      let body = offset + 8
      let remaining = bytes.count - body
      if tag == "\"data\"" {
        guard let format else { throw invalid("data chunk comes before the fmt chunk") }
        let size = unknownSizes.contains(declared) ? remaining : Int(declared)
        guard size <= remaining else {
          throw invalid("truncated: the data chunk declares \(size) bytes, the file has \(remaining)")
        }
        return try decodeSamples(UnsafeRawBufferPointer(rebasing: bytes[body..<body + size]), format: format)
      }
      guard Int(declared) <= remaining else {
        throw invalid("truncated: chunk \(tag) declares \(declared) bytes, the file has \(remaining)")
      }
      if tag == "\"fmt \"" { format = try Format(UnsafeRawBufferPointer(rebasing: bytes[body..<body + Int(declared)])) }
      offset = body + Int(declared) + Int(declared & 1)  // chunks are padded to even sizes
    }
    throw invalid(format == nil ? "no fmt chunk" : "no data chunk")
  }

  /// What the fmt chunk says.
  private struct Format {
    var isFloat: Bool
    var channels: Int
    var sampleRate: Int
    var bitsPerSample: Int
    var blockAlign: Int

    init(_ bytes: UnsafeRawBufferPointer) throws(WeftError) {
      guard bytes.count >= 16 else { throw WAVFile.invalid("fmt chunk is \(bytes.count) bytes, needs at least 16") }
      var tag = readUInt16(bytes, at: 0)
      channels = Int(readUInt16(bytes, at: 2))
      sampleRate = Int(readUInt32(bytes, at: 4))
      blockAlign = Int(readUInt16(bytes, at: 12))
      bitsPerSample = Int(readUInt16(bytes, at: 14))
      if tag == WAVFile.extensible {
        // The real format is the first two bytes of the sub-format GUID.
        guard bytes.count >= 26 else { throw WAVFile.invalid("WAVE_FORMAT_EXTENSIBLE fmt chunk is \(bytes.count) bytes, needs 26") }
        tag = readUInt16(bytes, at: 24)
      }
      switch (tag, bitsPerSample) {
      case (WAVFile.pcm, 8), (WAVFile.pcm, 16), (WAVFile.pcm, 24), (WAVFile.pcm, 32): isFloat = false
      case (WAVFile.ieeeFloat, 32), (WAVFile.ieeeFloat, 64): isFloat = true
      case (WAVFile.pcm, _), (WAVFile.ieeeFloat, _):
        throw WAVFile.invalid("\(bitsPerSample)-bit \(tag == WAVFile.pcm ? "PCM" : "float") samples are not supported (PCM: 8, 16, 24, 32; float: 32, 64)")
      default:
        throw WAVFile.invalid("format tag \(tag) is not supported (PCM 1 or IEEE float 3, plain or extensible); compressed WAVs must be decoded first")
      }
      guard (1...MonoAudio.maxChannels).contains(channels) else {
        throw WAVFile.invalid("\(channels) channels; 1 to \(MonoAudio.maxChannels) are accepted")
      }
      if let problem = MonoAudio.rateProblem(sampleRate, named: "sample rate") { throw WAVFile.invalid(problem) }
      guard blockAlign == channels * bitsPerSample / 8 else {
        throw WAVFile.invalid("block align \(blockAlign) does not match \(channels) channels of \(bitsPerSample) bits")
      }
    }
  }

  private static func decodeSamples(_ raw: UnsafeRawBufferPointer, format: Format) throws(WeftError) -> MonoAudio {
    guard raw.count % format.blockAlign == 0 else {
      throw invalid("data chunk of \(raw.count) bytes is not a whole number of \(format.blockAlign)-byte frames")
    }
    let count = raw.count / (format.bitsPerSample / 8)
    let interleaved = [Float](unsafeUninitializedCapacity: count) { out, initialized in
      switch (format.isFloat, format.bitsPerSample) {
      case (false, 8): for i in 0..<count { out[i] = (Float(raw[i]) - 128) / 128 }
      case (false, 16):
        for i in 0..<count { out[i] = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) / 32_768 }
      case (false, 24):
        for i in 0..<count {
          // Sign-extend by placing the three bytes in the top of an Int32.
          let value = Int32(bitPattern: UInt32(raw[3 * i]) << 8 | UInt32(raw[3 * i + 1]) << 16 | UInt32(raw[3 * i + 2]) << 24) >> 8
          out[i] = Float(value) / 8_388_608
        }
      case (false, _):
        for i in 0..<count { out[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) / 2_147_483_648 }
      case (true, 32):
        for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
      default:
        for i in 0..<count { out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
      }
      initialized = count
    }
    // Integer PCM cannot hold a NaN or infinity; only float data is scanned.
    if format.isFloat, let problem = MonoAudio.finiteProblem(interleaved) { throw invalid(problem) }
    let mono = interleaved.withUnsafeBufferPointer { MonoAudio.mixDown($0, channels: format.channels) }
    return MonoAudio(samples: mono, sampleRate: format.sampleRate)
  }

  /// Writes mono 16-bit PCM, for examples and tests.
  public static func encodePCM16(_ samples: [Float], sampleRate: Int) -> Data {
    var out = Data()
    func append(_ value: some FixedWidthInteger) { withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) } }
    out.append(contentsOf: "RIFF".utf8)
    append(UInt32(36 + samples.count * 2))
    out.append(contentsOf: "WAVEfmt ".utf8)
    append(UInt32(16))
    append(pcm)
    append(UInt16(1))
    append(UInt32(sampleRate))
    append(UInt32(sampleRate * 2))
    append(UInt16(2))
    append(UInt16(16))
    out.append(contentsOf: "data".utf8)
    append(UInt32(samples.count * 2))
    // The inverse of the reader's x / 32768, saturating at the top.
    for sample in samples { append(Int16(max(-32_768, min(32_767, (sample * 32_768).rounded())))) }
    return out
  }

  static func invalid(_ message: String) -> WeftError { WeftError(.invalidArgument, "bad WAV: " + message) }

  private static func readUInt16(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt16 {
    UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
  }

  private static func readUInt32(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
  }

  /// A four-byte chunk tag, quoted when printable, else in hex.
  private static func describeTag(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> String {
    let tag = bytes[offset..<min(offset + 4, bytes.count)]
    if tag.allSatisfy({ (0x20...0x7E).contains($0) }) { return "\"" + String(decoding: tag, as: UTF8.self) + "\"" }
    return "0x" + tag.map { String(format: "%02x", $0) }.joined()
  }
}
