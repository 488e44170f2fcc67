import Foundation

/// BERT's uncased WordPiece tokenizer, as in the model's `tokenizer.json`: normalise
/// (drop control characters, space out CJK ideographs, strip accents, lower-case), split
/// on whitespace and punctuation, then greedy longest-match WordPiece with `##`
/// continuations. Works on Unicode scalars, as the reference does on Rust `char`s.
public struct WordPieceTokenizer: Sendable {
  private let vocabulary: [String: Int32]
  /// Ids of the special tokens.
  public let classID: Int32, separatorID: Int32, unknownID: Int32, paddingID: Int32
  /// Words longer than this many scalars become `[UNK]`.
  public let maxCharactersPerWord = 100

  /// Loads `vocab.txt`: one token per line, the line number is its id.
  public init(vocabularyFile path: String) throws {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw SafetensorsFile.LoadError(description: "cannot read vocabulary \(path)")
    }
    var vocabulary: [String: Int32] = [:]
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
      vocabulary[String(line)] = Int32(index)
    }
    try self.init(vocabulary: vocabulary)
  }

  /// Uses a vocabulary given as token → id.
  public init(vocabulary: [String: Int32]) throws {
    func id(_ token: String) throws -> Int32 {
      guard let id = vocabulary[token] else { throw SafetensorsFile.LoadError(description: "vocabulary has no \(token)") }
      return id
    }
    self.vocabulary = vocabulary
    classID = try id("[CLS]")
    separatorID = try id("[SEP]")
    unknownID = try id("[UNK]")
    paddingID = try id("[PAD]")
  }

  /// Token ids for `text`: `[CLS]`, the word pieces (cut to fit), `[SEP]`; at most `maxLength` ids.
  public func encode(_ text: String, maxLength: Int = 256) -> [Int32] {
    var ids = [classID]
    for word in preTokenize(normalize(text)) {
      ids += wordPieces(word)
      if ids.count >= maxLength - 1 { break }
    }
    if ids.count > maxLength - 1 { ids.removeLast(ids.count - (maxLength - 1)) }
    ids.append(separatorID)
    return ids
  }

  // MARK: Normalisation

  func normalize(_ text: String) -> String {
    var cleaned = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
      if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
      if Self.isWhitespace(scalar) {
        cleaned.append(" ")
      } else if Self.isCJK(scalar) {
        cleaned.append(" ")
        cleaned.append(scalar)
        cleaned.append(" ")
      } else {
        cleaned.append(scalar)
      }
    }
    // Strip accents: canonical decomposition, then drop the combining marks.
    let decomposed = String(cleaned).decomposedStringWithCanonicalMapping
    var stripped = String.UnicodeScalarView()
    for scalar in decomposed.unicodeScalars where scalar.properties.generalCategory != .nonspacingMark {
      stripped.append(scalar)
    }
    return String(stripped).lowercased()
  }

  /// Words: split on whitespace (dropped) and punctuation (kept, each on its own).
  func preTokenize(_ text: String) -> [[Unicode.Scalar]] {
    var words: [[Unicode.Scalar]] = []
    var current: [Unicode.Scalar] = []
    for scalar in text.unicodeScalars {
      if scalar.properties.isWhitespace {
        if !current.isEmpty { words.append(current); current = [] }
      } else if Self.isPunctuation(scalar) {
        if !current.isEmpty { words.append(current); current = [] }
        words.append([scalar])
      } else {
        current.append(scalar)
      }
    }
    if !current.isEmpty { words.append(current) }
    return words
  }

  /// Greedy longest-match-first pieces of one word; the whole word is `[UNK]` if any
  /// part has no match.
  func wordPieces(_ word: [Unicode.Scalar]) -> [Int32] {
    guard word.count <= maxCharactersPerWord else { return [unknownID] }
    var pieces: [Int32] = []
    var start = 0
    while start < word.count {
      var end = word.count
      var found: Int32?
      while start < end {
        var candidate = start > 0 ? "##" : ""
        candidate.unicodeScalars.append(contentsOf: word[start..<end])
        if let id = vocabulary[candidate] {
          found = id
          break
        }
        end -= 1
      }
      guard let id = found else { return [unknownID] }
      pieces.append(id)
      start = end
    }
    return pieces
  }

  // MARK: Character classes (as the reference defines them)

  static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
    scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar.properties.isWhitespace
  }

  static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
    switch scalar.properties.generalCategory {
    case .control, .format, .unassigned, .privateUse, .surrogate: return true
    default: return false
    }
  }

  static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
    let value = scalar.value
    if (33...47).contains(value) || (58...64).contains(value) || (91...96).contains(value) || (123...126).contains(value) {
      return true
    }
    switch scalar.properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
      .finalPunctuation, .otherPunctuation:
      return true
    default: return false
    }
  }

  /// CJK ideographs (the blocks BERT spaces out), not all of Japanese or Korean.
  static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
      0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
      return true
    default: return false
    }
  }
}
