import Foundation
import SwiftProtobuf
import WeftProtocol

/// The `recommender` service: per-user personalisation that learns from feedback.
/// Each call names its user in the request, or else through `options.userID`.
extension WeftClient {
  /// Re-ranks `candidates` for `user`, best first, each with the parts of its score.
  /// Their embeddings go either in each candidate or, faster to decode, as one FLOAT32
  /// `embeddings` matrix [candidates, dimensions] (e.g. `Tensor.float32(shape:values:)`).
  public func personalize(
    _ candidates: [Weft_V1_Candidate], for user: String, embeddings: Tensor? = nil, exploration: Float? = nil,
    topK: Int = 0, options: CallOptions = CallOptions()
  ) async throws -> Weft_V1_RankedItems {
    var request = Weft_V1_PersonalizeRequest()
    request.user = user
    request.candidates = candidates
    if let embeddings { request.embeddings = embeddings }
    if let exploration { request.exploration.scale = exploration }
    request.topK = UInt32(clamping: topK)
    return try await call(RecommenderService.personalize, request, options: options)
  }

  /// Sends feedback events; returns once they are durable. Retrying with the same
  /// event ids is safe: each event counts once.
  ///
  /// With `rewardToken`, the events are about what the reply that carried the token
  /// showed (``Response/rewardToken``): the version that produced that reply is credited
  /// with their mean reward, once per token.
  @discardableResult
  public func feedback(_ events: [Weft_V1_Feedback], rewardToken: String? = nil, options: CallOptions = CallOptions()) async throws
    -> Weft_V1_FeedbackResponse
  {
    var request = Weft_V1_FeedbackRequest()
    request.events = events
    var options = options
    if let rewardToken { options.metadata[RewardMetadata.token] = .text(rewardToken) }
    return try await call(RecommenderService.feedback, request, options: options)
  }

  /// Adds catalogue items or replaces those with the same id.
  @discardableResult
  public func upsertCatalog(_ items: [Weft_V1_CatalogItem], options: CallOptions = CallOptions()) async throws
    -> Weft_V1_CatalogUpsertResponse
  {
    var request = Weft_V1_CatalogUpsertRequest()
    request.items = items
    return try await call(RecommenderService.catalogUpsert, request, options: options)
  }

  /// The best `k` catalogue items for `user`, without those they rated unless `includeRated`.
  public func recommend(
    for user: String, k: Int, includeRated: Bool = false, exploration: Float? = nil, options: CallOptions = CallOptions()
  ) async throws -> Weft_V1_RankedItems {
    var request = Weft_V1_RecommendRequest()
    request.user = user
    request.k = UInt32(clamping: k)
    request.includeRated = includeRated
    if let exploration { request.exploration.scale = exploration }
    return try await call(RecommenderService.recommend, request, options: options)
  }

  /// What the recommender holds about `user`.
  public func profile(of user: String, options: CallOptions = CallOptions()) async throws -> Weft_V1_Profile {
    var request = Weft_V1_ProfileRequest()
    request.user = user
    return try await call(RecommenderService.profileGet, request, options: options)
  }

  /// Deletes everything the recommender holds about `user`.
  @discardableResult
  public func deleteProfile(of user: String, options: CallOptions = CallOptions()) async throws
    -> Weft_V1_ProfileDeleteResponse
  {
    var request = Weft_V1_ProfileRequest()
    request.user = user
    return try await call(RecommenderService.profileDelete, request, options: options)
  }
}
