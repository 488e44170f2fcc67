import Foundation
import SwiftProtobuf
import WeftProtocol

extension WeftClient {
  /// Sentence embeddings from the `text` service: one L2-normalised vector per text,
  /// in order (384 floats for all-MiniLM-L6-v2).
  ///
  /// - Throws: ``WeftError``; `INVALID_ARGUMENT` for an empty list or texts over the limits.
  public func embed(_ texts: [String], options: CallOptions = CallOptions()) async throws -> [[Float]] {
    try await embedResponse(texts, options: options).vectors()
  }

  /// The whole `text/embed` reply: the embeddings tensor and token counts.
  public func embedResponse(_ texts: [String], options: CallOptions = CallOptions()) async throws -> Weft_V1_EmbedResponse {
    var request = Weft_V1_EmbedRequest()
    request.texts = texts
    return try await call(TextService.embed, request, options: options)
  }
}

extension WeftClient {
  /// Cosine similarity of each candidate to the query, from the `text` service.
  public func similarity(of query: String, to candidates: [String], options: CallOptions = CallOptions()) async throws -> [Float] {
    var request = Weft_V1_SimilarityRequest()
    request.query = query
    request.candidates = candidates
    return try await call(TextService.similarity, request, options: options).scores.float32Values()
  }
}

extension Weft_V1_EmbedResponse {
  /// The embeddings as one array of floats per text.
  public func vectors() throws -> [[Float]] {
    let values = try embeddings.float32Values()
    guard embeddings.shape.count == 2 else { throw WeftError(.dataLoss, "embeddings are not a matrix: \(embeddings.shape)") }
    let width = Int(embeddings.shape[1])
    guard width > 0 else { return [] }
    return stride(from: 0, to: values.count, by: width).map { Array(values[$0..<$0 + width]) }
  }
}
