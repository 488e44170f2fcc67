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
  /// The service name workers register.
  public static let service = "recommender"

  public let descriptor: ModelDescriptor
  private let recommender: Recommender

  /// Serves `recommender` as `version`.
  public init(_ recommender: Recommender, version: String = "bayes-linear-1", maxBatchSize: Int = 64) {
    self.recommender = recommender
    let method = { (name: String, input: String, output: String) in
      MethodSpec(name: name, inputKind: "weft.v1.\(input)", outputKind: "weft.v1.\(output)")
    }
    descriptor = ModelDescriptor(
      service: Self.service, version: version,
      methods: [
        method("personalize", "PersonalizeRequest", "RankedItems"),
        method("feedback", "FeedbackRequest", "FeedbackResponse"),
        method("recommend", "RecommendRequest", "RankedItems"),
        method("catalog.upsert", "CatalogUpsertRequest", "CatalogUpsertResponse"),
        method("profile.get", "ProfileRequest", "Profile"),
        method("profile.delete", "ProfileRequest", "ProfileDeleteResponse"),
        // Called by the gateway for requests with the personalize flag.
        method("rerank", "model request and reply frames", "the model's reply, personalized"),
      ],
      maxBatchSize: maxBatchSize, maxBatchDelay: .zero)
  }

  public func infer(_ batch: [InferenceRequest], partials: PartialSink) throws -> [InferenceResponse] {
    guard batch.first?.method == "feedback" else { return batch.map(answer) }
    var decoded: [(index: Int, request: Weft_V1_FeedbackRequest, headerUser: String)] = []
    var responses = [InferenceResponse?](repeating: nil, count: batch.count)
    for (index, request) in batch.enumerated() {
      do {
        decoded.append((index, try Self.decode(request), request.header.userID))
      } catch {
        responses[index] = .failure(Self.weftError(error))
      }
    }
    let results = recommender.feedback(decoded.map { ($0.request, $0.headerUser) })
    for (request, result) in zip(decoded, results) {
      responses[request.index] = Self.response(result)
    }
    return responses.map { $0! }
  }

  private func answer(_ request: InferenceRequest) -> InferenceResponse {
    let user = request.header.userID
    do {
      switch request.method {
      case "personalize": return .ok([try recommender.personalize(Self.decode(request), headerUser: user).serializedData()])
      case "recommend": return .ok([try recommender.recommend(Self.decode(request), headerUser: user).serializedData()])
      case "catalog.upsert": return .ok([try recommender.upsertCatalog(Self.decode(request)).serializedData()])
      case "profile.get": return .ok([try recommender.profile(Self.decode(request), headerUser: user).serializedData()])
      case "profile.delete": return .ok([try recommender.deleteProfile(Self.decode(request), headerUser: user).serializedData()])
      case "rerank": return .ok([try rerank(request)])
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
    guard let service = text(Recommender.RerankMetadata.modelService), let method = text(Recommender.RerankMetadata.modelMethod),
      let count = text(Recommender.RerankMetadata.requestFrames).flatMap(Int.init), (0...request.body.count).contains(count)
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

  /// The request's single body frame as `Request`.
  private static func decode<Request: SwiftProtobuf.Message>(_ request: InferenceRequest) throws -> Request {
    guard request.body.count == 1 else {
      throw WeftError(
        .invalidArgument, "recommender/\(request.method) takes one body frame (a \(Request.protoMessageName)); got \(request.body.count)")
    }
    do {
      return try Request(serializedBytes: request.body[0])
    } catch {
      throw WeftError(.invalidArgument, "the body is not a valid \(Request.protoMessageName): \(error)")
    }
  }

  private static func weftError(_ error: any Error) -> WeftError {
    (error as? WeftError) ?? WeftError(.internal, "\(error)")
  }
}
