import Foundation
import SwiftProtobuf
import WeftModels
import WeftProtocol

/// The recommender as a worker hosts it: service `recommender`, one protobuf message
/// in and out per call.
///
/// A batch holds calls of one method; a batch of feedback calls shares one commit, so
/// under load durability costs one fsync per batch, not per call.
public struct RecommenderModel: Model {
  /// The version it advertises unless told otherwise.
  public static let defaultVersion = "bayes-linear-1"

  public let descriptor: ModelDescriptor
  private let recommender: Recommender

  /// Serves `recommender` as `version`.
  public init(_ recommender: Recommender, version: String = defaultVersion, maxBatchSize: Int = 64) {
    self.recommender = recommender
    descriptor = ModelDescriptor(
      service: RecommenderService.name, version: version, methods: RecommenderService.methods,
      maxBatchSize: maxBatchSize, maxBatchDelay: .zero)
  }

  public func infer(_ batch: [InferenceRequest], partials: PartialSink) throws -> [InferenceResponse] {
    guard batch.first?.method == RecommenderService.feedback.name else { return batch.map(answer) }
    var decoded: [(index: Int, request: Weft_V1_FeedbackRequest, headerUser: String)] = []
    var responses = [InferenceResponse?](repeating: nil, count: batch.count)
    for (index, request) in batch.enumerated() {
      do {
        decoded.append((index, try request.singleBody(of: RecommenderService.feedback), request.header.userID))
      } catch {
        responses[index] = .failure(Self.weftError(error))
      }
    }
    let results = recommender.feedbackOutcomes(decoded.map { ($0.request, $0.headerUser) })
    for (request, result) in zip(decoded, results) {
      var response = Self.response(result.map(\.reply))
      // Feedback on a reply that carried a reward token: the gateway credits its version.
      if case .success(let outcome) = result, outcome.reply.applied > 0,
        case .text(let token)? = batch[request.index].header.metadata[RewardMetadata.token]?.value, !token.isEmpty
      {
        let credit = RewardMetadata.creditText(token: token, count: Int(outcome.reply.applied), sum: outcome.appliedRewardSum)
        response.metadata[RewardMetadata.credit] = .with { $0.text = credit }
      }
      responses[request.index] = response
    }
    return responses.map { $0! }
  }

  private func answer(_ request: InferenceRequest) -> InferenceResponse {
    let user = request.header.userID
    do {
      switch request.method {
      case RecommenderService.personalize.name where request.body.count == 1:
        // Read in place: the hot call builds no message per candidate.
        return .ok([try recommender.personalize(PersonalizeInput(serialized: request.body[0]), headerUser: user).serialized()])
      case RecommenderService.personalize.name:
        return .ok([try recommender.personalize(request.singleBody(of: RecommenderService.personalize), headerUser: user).serializedData()])
      case RecommenderService.recommend.name:
        return .ok([try recommender.recommend(request.singleBody(of: RecommenderService.recommend), headerUser: user).serializedData()])
      case RecommenderService.catalogUpsert.name:
        return .ok([try recommender.upsertCatalog(request.singleBody(of: RecommenderService.catalogUpsert)).serializedData()])
      case RecommenderService.profileGet.name:
        return .ok([try recommender.profile(request.singleBody(of: RecommenderService.profileGet), headerUser: user).serializedData()])
      case RecommenderService.profileDelete.name:
        return .ok([try recommender.deleteProfile(request.singleBody(of: RecommenderService.profileDelete), headerUser: user).serializedData()])
      case RecommenderService.rerank.name: return .ok([try rerank(request)])
      default: return .failure(WeftError(.unimplemented, "recommender has no method '\(request.method)'"))
      }
    } catch {
      return .failure(Self.weftError(error))
    }
  }

  /// The gateway's personalisation stage: splits the body into the model's request and
  /// reply frames by the metadata the gateway set.
  private func rerank(_ request: InferenceRequest) throws -> Data {
    let metadata = request.header.metadata
    func text(_ key: String) -> String? {
      guard case .text(let value)? = metadata[key]?.value else { return nil }
      return value
    }
    guard let service = text(PersonalizationMetadata.modelService), let method = text(PersonalizationMetadata.modelMethod),
      let count = text(PersonalizationMetadata.requestFrames).flatMap(Int.init), (0...request.body.count).contains(count)
    else {
      throw WeftError(.invalidArgument, "recommender/rerank is the gateway's: its metadata must name the model method and frames")
    }
    do {
      return try recommender.rerank(
        service: service, method: method, request: Array(request.body[..<count]), reply: Array(request.body[count...]),
        user: request.header.userID)
    } catch let error as WeftError {
      throw error
    } catch {
      throw WeftError(.invalidArgument, "the \(service)/\(method) request or reply could not be read: \(error)")
    }
  }

  private static func response<Reply: SwiftProtobuf.Message>(_ result: Result<Reply, WeftError>) -> InferenceResponse {
    switch result {
    case .success(let reply):
      do { return .ok([try reply.serializedData()]) } catch { return .failure(weftError(error)) }
    case .failure(let error): return .failure(error)
    }
  }

  private static func weftError(_ error: any Error) -> WeftError {
    (error as? WeftError) ?? WeftError(.internal, "\(error)")
  }
}
