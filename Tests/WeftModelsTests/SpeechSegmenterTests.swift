import Testing
import WeftProtocol

@testable import WeftModels

/// The incremental segmenter against a line-by-line port of the reference's
/// `get_speech_timestamps_from_probs` (silero-vad 6.2.3, its default
/// `use_max_poss_sil_at_max_speech`), on random probability sequences and random rules:
/// releasing segments early must never change them.
@Suite struct SpeechSegmenterTests {
  /// The reference, kept close to its Python: dictionaries become optionals, and 0 means
  /// "unset" where the Python tests a value's truth.
  static func reference(_ probabilities: [Float], rules: SegmentRules, audioLength: Int) -> [SampleRange] {
    let window = 512.0, rate = 16_000.0
    let minSpeech = rate * Double(rules.minSpeechMilliseconds) / 1000
    let pad = rate * Double(rules.speechPadMilliseconds) / 1000
    let maxSpeech = rate * rules.maxSpeechSeconds - window - 2 * pad
    let minSilence = rate * Double(rules.minSilenceMilliseconds) / 1000
    let minSilenceAtMax = rate * Double(rules.minSilenceAtMaxSpeechMilliseconds) / 1000
    let negative = rules.negativeThreshold ?? max(rules.threshold - 0.15, 0.01)
    var triggered = false
    var speeches: [(start: Int, end: Int)] = []
    var current: (start: Int?, end: Int?) = (nil, nil)
    var tempEnd = 0, prevEnd = 0, nextStart = 0
    var possibleEnds: [(Int, Int)] = []
    for (i, p) in probabilities.map(Double.init).enumerated() {
      let sample = 512 * i
      if p >= rules.threshold && tempEnd != 0 {
        let silence = sample - tempEnd
        if Double(silence) > minSilenceAtMax { possibleEnds.append((tempEnd, silence)) }
        tempEnd = 0
        if nextStart < prevEnd { nextStart = sample }
      }
      if p >= rules.threshold && !triggered {
        triggered = true
        current.start = sample
        continue
      }
      if triggered, let start = current.start, Double(sample - start) > maxSpeech {
        if let longest = possibleEnds.max(by: { $0.1 < $1.1 }) {
          prevEnd = longest.0
          speeches.append((start, prevEnd))
          current = (nil, nil)
          nextStart = prevEnd + longest.1
          if nextStart < prevEnd + sample { current.start = nextStart } else { triggered = false }
          (prevEnd, nextStart, tempEnd) = (0, 0, 0)
          possibleEnds = []
        } else {
          speeches.append((start, sample))
          current = (nil, nil)
          (prevEnd, nextStart, tempEnd) = (0, 0, 0)
          triggered = false
          possibleEnds = []
          continue
        }
      }
      if p < negative && triggered {
        if tempEnd == 0 { tempEnd = sample }
        if Double(sample - tempEnd) < minSilence { continue }
        if let start = current.start, Double(tempEnd - start) > minSpeech { speeches.append((start, tempEnd)) }
        current = (nil, nil)
        (prevEnd, nextStart, tempEnd) = (0, 0, 0)
        triggered = false
        possibleEnds = []
        continue
      }
    }
    if let start = current.start, Double(audioLength - start) > minSpeech { speeches.append((start, audioLength)) }
    for i in speeches.indices {
      if i == 0 { speeches[i].start = Int(max(0, Double(speeches[i].start) - pad)) }
      if i != speeches.count - 1 {
        let silence = speeches[i + 1].start - speeches[i].end
        if Double(silence) < 2 * pad {
          speeches[i].end += silence / 2
          speeches[i + 1].start = max(0, speeches[i + 1].start - silence / 2)
        } else {
          speeches[i].end = Int(min(Double(audioLength), Double(speeches[i].end) + pad))
          speeches[i + 1].start = Int(max(0, Double(speeches[i + 1].start) - pad))
        }
      } else {
        speeches[i].end = Int(min(Double(audioLength), Double(speeches[i].end) + pad))
      }
    }
    return speeches.map { SampleRange(start: $0.start, end: $0.end) }
  }

  @Test("2,000 random sequences and rule sets: the same segments as the reference")
  func matchesTheReferenceOnRandomInput() {
    var random = SplitMix64(seed: 20_261_123)  // seeded: a failure reproduces
    var compared = 0, withSegments = 0
    for _ in 0..<2_000 {
      var rules = SegmentRules()
      rules.threshold = [0.3, 0.5, 0.7].randomElement(using: &random)!
      rules.negativeThreshold = Bool.random(using: &random) ? nil : rules.threshold - Double.random(in: 0...0.25, using: &random)
      rules.minSpeechMilliseconds = Int.random(in: 0...400, using: &random)
      rules.minSilenceMilliseconds = Int.random(in: 0...250, using: &random)
      rules.speechPadMilliseconds = Int.random(in: 0...150, using: &random)
      rules.maxSpeechSeconds = Bool.random(using: &random) ? .infinity : Double.random(in: 0.2...2.5, using: &random)
      // Runs of speech-like and silence-like chunks, with noise, so every rule fires.
      var probabilities: [Float] = []
      while probabilities.count < 300 {
        let level = Float.random(in: 0...1, using: &random)
        for _ in 0..<Int.random(in: 1...25, using: &random) {
          probabilities.append(min(1, max(0, level + Float.random(in: -0.2...0.2, using: &random))))
        }
      }
      let audioLength = probabilities.count * 512 - Int.random(in: 0..<512, using: &random)
      let expected = Self.reference(probabilities, rules: rules, audioLength: audioLength)
      let found = SpeechSegmenter.segments(probabilities, rules: rules, audioLength: audioLength)
      #expect(found == expected, "rules \(rules)")
      compared += 1
      if !expected.isEmpty { withSegments += 1 }
      if found != expected { break }
    }
    #expect(withSegments > compared / 2, "the inputs should mostly contain speech")
  }

  @Test("a segment is released as soon as the next one starts, not at the end of the audio")
  func releasesEarly() {
    // Speech 0.5 s, silence 1 s, speech 0.5 s, silence to 4 s: default rules.
    let chunk = { (seconds: Double) in Int(seconds * 16_000 / 512) }
    var probabilities = [Float](repeating: 0.02, count: chunk(4))
    for index in 0..<chunk(0.5) { probabilities[index] = 0.9 }
    for index in chunk(1.5)..<chunk(2) { probabilities[index] = 0.9 }
    var segmenter = SpeechSegmenter(audioLength: probabilities.count * 512)
    var releasedAt: [Int] = []
    for (index, probability) in probabilities.enumerated() {
      releasedAt += segmenter.add(probability).map { _ in index }
    }
    #expect(segmenter.finish().isEmpty)
    // Each ends once 100 ms of silence has passed and 60 ms more rule out a neighbour.
    #expect(releasedAt.count == 2)
    #expect(releasedAt.allSatisfy { $0 < chunk(2.5) })
  }
}
