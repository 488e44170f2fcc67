import Foundation
import SwiftProtobuf
import Testing
import WeftModels
import WeftProtocol

@testable import WeftRecommender

/// The personalise call's hand-written wire paths against swift-protobuf: requests read in
/// place must equal the decoded message, and the reply written by hand must be the bytes
/// swift-protobuf writes.
@Suite struct PersonalizeWireTests {
  private static let layout = ProfileLayout(embeddingDimensions: 8, profileDimensions: 4, projectionSeed: 3)

  /// Requests of every shape: per-candidate embeddings (some absent), a matrix, labels,
  /// exploration, top_k, non-ASCII ids.
  private static func requests(seed: UInt64) -> [Weft_V1_PersonalizeRequest] {
    var random = SplitMix64(seed: seed)
    func value() -> Float { Float(random.nextUnit() * 2 - 1) }
    return (0..<40).map { round in
      var request = Weft_V1_PersonalizeRequest()
      request.user = round % 5 == 0 ? "" : "user-\(round)-é"
      let count = Int(random.nextUnit() * 30)
      let asMatrix = round % 3 == 0
      request.candidates = (0..<count).map { index in
        var candidate = Weft_V1_Candidate()
        candidate.id = "item-\(index)-ü\(round)"
        candidate.modelScore = index % 4 == 0 ? 0 : value()
        if !asMatrix && index % 3 != 0 { candidate.embedding = (0..<8).map { _ in value() } }
        candidate.labels = (0..<(index % 3)).map { "label-\($0)" }
        return candidate
      }
      if asMatrix { request.embeddings = .float32(shape: [count, 8], values: (0..<(count * 8)).map { _ in value() }) }
      if round % 2 == 0 { request.exploration.scale = Float(round % 4) * 0.5 }
      request.topK = UInt32(round % 7)
      return request
    }
  }

  @Test func requestsReadInPlaceEqualTheDecodedMessage() throws {
    for request in Self.requests(seed: 7) {
      let bytes = try request.serializedData() + Data([0xb8, 0x06, 0x2a])  // and field 103, varint 42
      #expect(try PersonalizeInput(serialized: bytes) == PersonalizeInput(Weft_V1_PersonalizeRequest(serializedBytes: bytes)))
    }
    for broken in [Data([0x12, 0x05, 0x0a]), Data([0x0a, 0x02, 0xff, 0xfe]), Data([0x2a, 0x03, 0x22, 0x09, 0x00])] {
      #expect(throws: WeftError.self) { try PersonalizeInput(serialized: broken) }
    }
  }

  @Test func theRepliesWrittenByHandAreSwiftProtobufsBytes() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-wire-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let recommender = try Recommender(
      configuration: RecommenderConfiguration(
        store: directory.appendingPathComponent("p.sqlite").path, layout: Self.layout, exploration: 0))
    var compared = 0
    for request in Self.requests(seed: 11) where !request.candidates.isEmpty {
      var request = request
      request.user = "someone"
      request.clearExploration()  // no draws: both paths must rank alike
      let ranking = try recommender.personalize(PersonalizeInput(request), headerUser: "")
      #expect(ranking.serialized() == (try ranking.message.serializedData()))
      // Through the worker's entry point, bytes in and bytes out.
      let header = RequestHeader.with { $0.service = RecommenderService.name; $0.method = RecommenderService.personalize.name }
      let call = InferenceRequest(
        method: RecommenderService.personalize.name, header: header, body: [try request.serializedData()], deadline: .now + .seconds(5))
      let reply = try RecommenderModel(recommender).infer([call], partials: .discard)[0]
      #expect(reply.status == .ok, "\(reply.message)")
      #expect(try Weft_V1_RankedItems(serializedBytes: reply.body[0]) == recommender.personalize(request, headerUser: ""))
      compared += 1
    }
    #expect(compared > 20)
  }
}
