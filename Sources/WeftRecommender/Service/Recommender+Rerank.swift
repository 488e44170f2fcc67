import Foundation
import SwiftProtobuf
import WeftProtocol

/// The gateway's personalisation stage: a model's reply, re-ranked for the request's user.
extension Recommender {
  /// The model's reply (`reply`, its body frames) to `request` (its body frames), with
  /// `personalized` set to the user's ranking of what the model returned.
  public func rerank(service: String, method: String, request: [Data], reply: [Data], user: String) throws -> Data {
    switch (service, method) {
    case (TextService.name, TextService.similarity.name):
      let asked = try Weft_V1_SimilarityRequest(serializedBytes: request.first ?? Data())
      var answer = try Weft_V1_SimilarityResponse(serializedBytes: reply.first ?? Data())
      let scores = try answer.scores.float32Values()
      guard scores.count == asked.candidates.count else {
        throw WeftError(.invalidArgument, "text/similarity reply has \(scores.count) scores for \(asked.candidates.count) candidates")
      }
      var seen: [String: Int] = [:]
      let candidates = asked.candidates.enumerated().map { index, text in
        var candidate = Weft_V1_Candidate()
        candidate.id = Self.itemID(for: text, seen: &seen)
        candidate.modelScore = scores[index]
        return candidate
      }
      // The embeddings go on as the matrix they came in, if they are of the recommender's space.
      let usable = answer.candidateEmbeddings.shape == [Int64(scores.count), Int64(store.layout.embeddingDimensions)]
      answer.personalized = try personalize(candidates, user: user, embeddings: usable ? answer.candidateEmbeddings : nil)
      answer.clearCandidateEmbeddings()
      return try answer.serializedData()
    case (VisionService.name, VisionService.classify.name):
      var answer = try Weft_V1_ClassifyResponse(serializedBytes: reply.first ?? Data())
      var seen: [String: Int] = [:]
      let candidates = answer.top.map { entry in
        var candidate = Weft_V1_Candidate()
        candidate.id = Self.itemID(for: entry.label, seen: &seen)
        candidate.modelScore = entry.probability
        candidate.labels = [entry.label]
        return candidate
      }
      answer.personalized = try personalize(candidates, user: user)
      return try answer.serializedData()
    default:
      throw WeftError(.unimplemented, "the recommender cannot personalise \(service)/\(method); it knows text/similarity and vision/classify")
    }
  }

  private func personalize(_ candidates: [Weft_V1_Candidate], user: String, embeddings: Tensor? = nil) throws
    -> Weft_V1_RankedItems
  {
    guard !candidates.isEmpty else { return Weft_V1_RankedItems() }
    var request = Weft_V1_PersonalizeRequest()
    request.user = user
    request.candidates = candidates
    if let embeddings { request.embeddings = embeddings }
    return try personalize(request, headerUser: user)
  }

  /// An item id for a candidate's text: the text itself, cut to the id limit with a hash
  /// of the whole so long texts stay distinct, and numbered when a text repeats.
  static func itemID(for text: String, seen: inout [String: Int]) -> String {
    var id = text.isEmpty ? "(empty)" : text
    let limit = RecommenderConfiguration.maxIdentifierBytes
    if id.utf8.count > limit {
      let suffix = "…#" + String(FNV1a.hash(text), radix: 16)
      var cut = String(decoding: text.utf8.prefix(limit - suffix.utf8.count - 8), as: UTF8.self)
      while cut.utf8.count > limit - suffix.utf8.count - 8 { cut.removeLast() }
      id = cut + suffix
    }
    let repeats = seen[id, default: 0]
    seen[id] = repeats + 1
    return repeats == 0 ? id : "\(id)#\(repeats + 1)"
  }
}
