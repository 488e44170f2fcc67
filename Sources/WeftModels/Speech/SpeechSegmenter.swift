/// The rules that turn per-chunk probabilities into speech segments, with the defaults
/// of the silero-vad package's `get_speech_timestamps`.
public struct SegmentRules: Sendable, Equatable {
  /// A chunk at or above this is speech.
  public var threshold: Double = 0.5
  /// Inside speech, a chunk below this is silence; nil means max(threshold − 0.15, 0.01).
  public var negativeThreshold: Double?
  /// Shorter segments are dropped.
  public var minSpeechMilliseconds = 250
  /// Silence this long ends a segment.
  public var minSilenceMilliseconds = 100
  /// Segments are widened by this much on each side.
  public var speechPadMilliseconds = 30
  /// Longer segments are split; infinity: never.
  public var maxSpeechSeconds = Double.infinity
  /// The shortest silence a split at the maximum length may use (the package's 98 ms).
  public var minSilenceAtMaxSpeechMilliseconds = 98

  /// The package's defaults.
  public init() {}
}

/// One stretch of speech, in samples at 16 kHz.
public struct SampleRange: Sendable, Equatable, CustomStringConvertible {
  /// First sample of speech.
  public var start: Int
  /// One past the last.
  public var end: Int

  /// Creates a range.
  public init(start: Int, end: Int) {
    self.start = start
    self.end = end
  }

  public var description: String { "\(start)..<\(end)" }
}

/// `get_speech_timestamps_from_probs`, fed one probability at a time.
///
/// The reference decides segments in one pass over the probabilities, then pads them in
/// a second pass in which a segment's padding depends on its neighbours: the gap to the
/// previous segment sets its start, the gap to the next its end. This segmenter runs the
/// first pass as the probabilities arrive and releases a padded segment as soon as
/// nothing later can change it: once the next segment is known, or once no segment can
/// start close enough to share its padding. Fed everything, it returns exactly what the
/// reference returns.
public struct SpeechSegmenter: Sendable {
  private static let window = SileroVAD.chunkSamples
  private let threshold: Double
  private let negativeThreshold: Double
  private let minSpeech: Double
  private let minSilence: Double
  private let pad: Double
  private let maxSpeech: Double
  private let minSilenceAtMaxSpeech: Double
  private var audioLength: Int

  // The reference's first-pass state; 0 means "unset", as in the reference.
  private var triggered = false
  private var currentStart: Int?
  private var tempEnd = 0
  private var previousEnd = 0
  private var nextStart = 0
  private var possibleEnds: [(end: Int, silence: Int)] = []
  private var chunk = 0

  /// Decided but unpadded segments not yet released, and the raw end of the last released.
  private var decided: [SampleRange] = []
  private var lastReleasedEnd: Int?

  /// A segmenter for audio of `audioLength` samples at 16 kHz.
  public init(rules: SegmentRules = SegmentRules(), audioLength: Int) {
    let rate = Double(SileroVAD.sampleRate)
    threshold = rules.threshold
    negativeThreshold = rules.negativeThreshold ?? max(rules.threshold - 0.15, 0.01)
    minSpeech = rate * Double(rules.minSpeechMilliseconds) / 1000
    pad = rate * Double(rules.speechPadMilliseconds) / 1000
    maxSpeech = rate * rules.maxSpeechSeconds - Double(Self.window) - 2 * pad
    minSilence = rate * Double(rules.minSilenceMilliseconds) / 1000
    minSilenceAtMaxSpeech = rate * Double(rules.minSilenceAtMaxSpeechMilliseconds) / 1000
    self.audioLength = audioLength
  }

  /// Takes the next chunk's probability; returns the segments that became final.
  public mutating func add(_ probability: Float) -> [SampleRange] {
    decide(Double(probability))
    chunk += 1
    return release(atEnd: false)
  }

  /// Ends the audio; returns the remaining segments.
  public mutating func finish() -> [SampleRange] {
    if let start = currentStart, Double(audioLength - start) > minSpeech {
      decided.append(SampleRange(start: start, end: audioLength))
    }
    currentStart = nil
    triggered = false
    return release(atEnd: true)
  }

  /// Ends audio whose length was not known at the start (a live stream).
  public mutating func finish(audioLength: Int) -> [SampleRange] {
    self.audioLength = audioLength
    return finish()
  }

  /// All segments of `probabilities`, as `get_speech_timestamps` returns them.
  public static func segments(_ probabilities: [Float], rules: SegmentRules = SegmentRules(), audioLength: Int) -> [SampleRange] {
    var segmenter = SpeechSegmenter(rules: rules, audioLength: audioLength)
    return probabilities.flatMap { segmenter.add($0) } + segmenter.finish()
  }

  /// The reference's loop body for one chunk.
  private mutating func decide(_ probability: Double) {
    let sample = Self.window * chunk
    if probability >= threshold && tempEnd != 0 {
      let silence = sample - tempEnd
      if Double(silence) > minSilenceAtMaxSpeech { possibleEnds.append((tempEnd, silence)) }
      tempEnd = 0
      if nextStart < previousEnd { nextStart = sample }
    }
    if probability >= threshold && !triggered {
      triggered = true
      currentStart = sample
      return
    }
    if triggered, let start = currentStart, Double(sample - start) > maxSpeech {
      splitAtMaxSpeech(sample)
      if !triggered { return }
    }
    if probability < negativeThreshold && triggered {
      if tempEnd == 0 { tempEnd = sample }
      if Double(sample - tempEnd) < minSilence { return }
      if let start = currentStart, Double(tempEnd - start) > minSpeech {
        decided.append(SampleRange(start: start, end: tempEnd))
      }
      closeSpeech()
    }
  }

  /// A segment reached the maximum length: cut it at its longest silence, else here.
  /// (The package's default `use_max_poss_sil_at_max_speech`; its legacy cut at the
  /// last silence is not offered.)
  private mutating func splitAtMaxSpeech(_ sample: Int) {
    guard let start = currentStart else { return }
    if let longest = possibleEnds.max(by: { $0.silence < $1.silence }) {
      decided.append(SampleRange(start: start, end: longest.end))
      nextStart = longest.end + longest.silence
      // The reference's condition, kept as written: the cut's silence lies in the past.
      if nextStart < longest.end + sample {
        currentStart = nextStart
      } else {
        currentStart = nil
        triggered = false
      }
      previousEnd = 0
      nextStart = 0
      tempEnd = 0
      possibleEnds = []
    } else {
      decided.append(SampleRange(start: start, end: sample))
      closeSpeech()
    }
  }

  private mutating func closeSpeech() {
    currentStart = nil
    previousEnd = 0
    nextStart = 0
    tempEnd = 0
    triggered = false
    possibleEnds = []
  }

  /// Pads and returns the decided segments whose padding can no longer change.
  private mutating func release(atEnd: Bool) -> [SampleRange] {
    var released: [SampleRange] = []
    while let first = decided.first {
      let next: Int?
      if decided.count > 1 {
        next = decided[1].start
      } else if atEnd {
        next = nil
      } else {
        // No later segment can start before the open one or before the next chunk.
        let earliest = currentStart ?? Self.window * chunk
        guard Double(earliest - first.end) >= 2 * pad else { break }
        next = nil
      }
      released.append(padded(first, next: next))
      lastReleasedEnd = first.end
      decided.removeFirst()
    }
    return released
  }

  /// The reference's second pass for one segment, from its neighbours' raw bounds.
  private func padded(_ segment: SampleRange, next: Int?) -> SampleRange {
    var start = segment.start
    if let previous = lastReleasedEnd {
      let gap = segment.start - previous
      start = max(0, start - (Double(gap) < 2 * pad ? gap / 2 : Int(pad)))
    } else {
      start = Int(max(0, Double(start) - pad))
    }
    var end = segment.end
    if let next, Double(next - segment.end) < 2 * pad {
      end += (next - segment.end) / 2
    } else {
      end = Int(min(Double(audioLength), Double(end) + pad))
    }
    return SampleRange(start: start, end: end)
  }
}
