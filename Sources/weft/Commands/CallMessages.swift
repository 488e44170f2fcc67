import ArgumentParser
import Foundation
import SwiftProtobuf
import WeftProtocol

/// The messages `weft call` builds from flags or JSON and decodes for printing, by the
/// method table: any method's request from `--body-json`, the recommender's from flags,
/// and replies of methods with no printer of their own as JSON.
enum CallMessages {
  /// `json` (protobuf's JSON mapping) as `method`'s request.
  static func body(json: String, for method: AnyServiceMethod) throws -> Data {
    guard !method.takesOpaqueFrames else {
      throw ValidationError("\(method) takes frames as they are, not a message: give them with --data or --file")
    }
    return try parse(json, as: method.requestType)
  }

  private static func parse(_ json: String, as type: any SwiftProtobuf.Message.Type) throws -> Data {
    do {
      return try type.init(jsonString: json, options: JSONDecodingOptions()).serializedData()
    } catch {
      throw ValidationError("--body-json is not a \(type.protoMessageName): \(error)")
    }
  }

  /// A recommender request built from the flags, for the methods that need no lists.
  static func recommenderBody(
    method: AnyServiceMethod, user: String, item: String?, reward: Float?, eventID: String?, k: Int
  ) throws -> Data {
    switch method {
    case RecommenderService.feedback.erased:
      guard let item, let reward, let eventID else {
        throw ValidationError("recommender.feedback needs --item, --reward and --event-id (or --body-json)")
      }
      var event = Weft_V1_Feedback()
      (event.user, event.item, event.reward, event.eventID) = (user, item, reward, eventID)
      var request = Weft_V1_FeedbackRequest()
      request.events = [event]
      return try request.serializedData()
    case RecommenderService.recommend.erased:
      var request = Weft_V1_RecommendRequest()
      (request.user, request.k) = (user, UInt32(clamping: k))
      return try request.serializedData()
    case RecommenderService.profileGet.erased, RecommenderService.profileDelete.erased:
      var request = Weft_V1_ProfileRequest()
      request.user = user
      return try request.serializedData()
    default:
      throw ValidationError("\(method) takes a list: give it with --body-json")
    }
  }

  /// A `text.similarity` reply: the model's scores in request order, and the ranking
  /// for the user when the recommender personalised it.
  static func similarity(body: Data) -> (fields: [String: Any], lines: [String])? {
    guard let reply = try? Weft_V1_SimilarityResponse(serializedBytes: body), let scores = try? reply.scores.float32Values() else {
      return nil
    }
    var fields: [String: Any] = ["scores": scores, "model": reply.model]
    var lines = scores.enumerated().map { "[\($0)] \(String(format: "%.4f", $1))" }
    if reply.hasPersonalized {
      fields["personalized"] = rankedItemsObject(reply.personalized)
      lines += ["personalised for the user:"] + rankingLines(reply.personalized)
    }
    return (fields, lines)
  }

  private static func rankedItemsObject(_ ranked: Weft_V1_RankedItems) -> Any {
    guard let json = try? ranked.jsonString(options: jsonOptions) else { return [:] as [String: Any] }
    return (try? JSONSerialization.jsonObject(with: Data(json.utf8))) ?? [:] as [String: Any]
  }

  private static func rankingLines(_ ranked: Weft_V1_RankedItems) -> [String] {
    ranked.items.enumerated().map { rank, item in
      String(
        format: "%2d. %-24@ %7.4f = model %7.4f + affinity %7.4f + exploration %7.4f  (model rank %d)", rank + 1,
        item.id as NSString, item.score, item.modelPart, item.affinity, item.exploration, item.modelRank + 1)
    }
  }

  /// A reply's fields (protobuf's JSON mapping, which leaves out fields at their default:
  /// a missing number is 0) and lines for people.
  static func reply(of method: AnyServiceMethod, body: Data) -> (fields: [String: Any], lines: [String])? {
    let type = method.responseType
    guard type != OpaqueFrames.self, let reply = try? type.init(serializedBytes: body),
      let json = try? reply.jsonString(options: jsonOptions),
      let fields = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]
    else { return nil }
    guard let ranked = reply as? Weft_V1_RankedItems else { return (fields, [json]) }
    return (fields, ["profile events: \(ranked.profileEvents)"] + rankingLines(ranked))
  }

  private static var jsonOptions: JSONEncodingOptions {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    return options
  }
}
