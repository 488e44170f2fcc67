import ArgumentParser
import Foundation
import SwiftProtobuf
import WeftProtocol

/// The messages `weft call` builds from flags or JSON and decodes for printing: the
/// recommender's requests and replies, and text's requests (with `text.similarity`'s
/// personalised reply).
enum CallMessages {
  static func requestType(_ method: String) -> (any SwiftProtobuf.Message.Type)? {
    switch method {
    case "personalize": Weft_V1_PersonalizeRequest.self
    case "feedback": Weft_V1_FeedbackRequest.self
    case "recommend": Weft_V1_RecommendRequest.self
    case "catalog.upsert": Weft_V1_CatalogUpsertRequest.self
    case "profile.get", "profile.delete": Weft_V1_ProfileRequest.self
    default: nil
    }
  }

  static func replyType(_ method: String) -> (any SwiftProtobuf.Message.Type)? {
    switch method {
    case "personalize", "recommend": Weft_V1_RankedItems.self
    case "feedback": Weft_V1_FeedbackResponse.self
    case "catalog.upsert": Weft_V1_CatalogUpsertResponse.self
    case "profile.get": Weft_V1_Profile.self
    case "profile.delete": Weft_V1_ProfileDeleteResponse.self
    default: nil
    }
  }

  /// `json` (protobuf's JSON mapping) as the request of a text method, e.g. a
  /// `SimilarityRequest` for `text.similarity`.
  static func textBody(method: String, json: String) throws -> Data {
    let type: any SwiftProtobuf.Message.Type
    switch method {
    case "embed": type = Weft_V1_EmbedRequest.self
    case "similarity": type = Weft_V1_SimilarityRequest.self
    default: throw ValidationError("--body-json knows text.embed and text.similarity, not text.\(method)")
    }
    return try parse(json, as: type)
  }

  private static func parse(_ json: String, as type: any SwiftProtobuf.Message.Type) throws -> Data {
    do {
      return try type.init(jsonString: json, options: JSONDecodingOptions()).serializedData()
    } catch {
      throw ValidationError("--body-json is not a \(type.protoMessageName): \(error)")
    }
  }

  /// The request body: `json` parsed as the method's request (protobuf's JSON mapping),
  /// or built from the flags for the methods that need no lists.
  static func body(
    method: String, json: String?, user: String, item: String?, reward: Float?, eventID: String?, k: Int
  ) throws -> Data {
    guard let type = requestType(method) else {
      throw ValidationError("recommender has no method '\(method)'; it has personalize, feedback, recommend, catalog.upsert, profile.get, profile.delete")
    }
    if let json { return try parse(json, as: type) }
    switch method {
    case "feedback":
      guard let item, let reward, let eventID else {
        throw ValidationError("recommender.feedback needs --item, --reward and --event-id (or --body-json)")
      }
      var event = Weft_V1_Feedback()
      (event.user, event.item, event.reward, event.eventID) = (user, item, reward, eventID)
      var request = Weft_V1_FeedbackRequest()
      request.events = [event]
      return try request.serializedData()
    case "recommend":
      var request = Weft_V1_RecommendRequest()
      (request.user, request.k) = (user, UInt32(clamping: k))
      return try request.serializedData()
    case "profile.get", "profile.delete":
      var request = Weft_V1_ProfileRequest()
      request.user = user
      return try request.serializedData()
    default:
      throw ValidationError("recommender.\(method) takes a list: give it with --body-json")
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
  static func reply(method: String, body: Data) -> (fields: [String: Any], lines: [String])? {
    guard let type = replyType(method), let reply = try? type.init(serializedBytes: body),
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
