import Foundation
import SwiftProtobuf
import Testing
import WeftProtocol

@testable import WeftRecommender

/// The recommender over a real SQLite file in a temporary directory.
@Suite struct RecommenderTests {
  /// Embeddings of 8 values, profiles in the same space (no projection), so tastes are exact.
  private static let layout = ProfileLayout(embeddingDimensions: 8, profileDimensions: 8, projectionSeed: 1)

  private final class Scratch {
    let directory: URL
    init() throws {
      directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-rec-\(UUID().uuidString)")
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: directory) }
    var store: String { directory.appendingPathComponent("profiles.sqlite").path }

    func recommender(exploration: Float = 0, layout: ProfileLayout = RecommenderTests.layout) throws -> Recommender {
      try Recommender(configuration: RecommenderConfiguration(store: store, layout: layout, exploration: exploration))
    }
  }

  /// A unit vector along `axis`, tilted slightly along the next axis by `tilt`.
  private func embedding(_ axis: Int, tilt: Float = 0) -> [Float] {
    var values = [Float](repeating: 0, count: 8)
    values[axis] = 1
    values[(axis + 1) % 8] = tilt
    return values
  }

  /// Eight candidates, candidate i along axis i, the model preferring lower axes.
  private func candidates() -> [Weft_V1_Candidate] {
    (0..<8).map { axis in
      var candidate = Weft_V1_Candidate()
      candidate.id = "item-\(axis)"
      candidate.modelScore = 0.5 - Float(axis) * 0.05
      candidate.embedding = embedding(axis)
      return candidate
    }
  }

  private func personalize(_ recommender: Recommender, user: String, exploration: Float? = nil) throws -> [String] {
    var request = Weft_V1_PersonalizeRequest()
    request.user = user
    request.candidates = candidates()
    if let exploration { request.exploration.scale = exploration }
    return try recommender.personalize(request, headerUser: "").items.map(\.id)
  }

  private func feedback(_ user: String, _ item: String, _ reward: Float, id: String, embedding: [Float] = []) -> Weft_V1_FeedbackRequest {
    var event = Weft_V1_Feedback()
    event.user = user
    event.item = item
    event.reward = reward
    event.eventID = id
    event.embedding = embedding
    var request = Weft_V1_FeedbackRequest()
    request.events = [event]
    return request
  }

  private func send(_ recommender: Recommender, _ requests: [Weft_V1_FeedbackRequest]) throws -> [Weft_V1_FeedbackResponse] {
    try recommender.feedback(requests.map { ($0, "") }).map { try $0.get() }
  }

  @Test func aNewUserWithoutExplorationGetsTheModelsOrder() throws {
    let scratch = try Scratch()
    let recommender = try scratch.recommender()
    #expect(try personalize(recommender, user: "new") == candidates().map(\.id))
  }

  @Test func aUserWithAClearTasteGetsADifferentOrderAndTheScoreShowsWhy() throws {
    let scratch = try Scratch()
    let recommender = try scratch.recommender()
    _ = try personalize(recommender, user: "fan")  // remembers the candidates' embeddings
    let events = (0..<20).map { feedback("fan", "item-6", 1, id: "e\($0)") } + (0..<5).map { feedback("fan", "item-0", -1, id: "n\($0)") }
    let replies = try send(recommender, events)
    #expect(replies.reduce(0) { $0 + $1.applied } == 25)

    var request = Weft_V1_PersonalizeRequest()
    request.user = "fan"
    request.candidates = candidates()
    request.exploration.scale = 0
    let ranked = try recommender.personalize(request, headerUser: "")
    #expect(ranked.items.first?.id == "item-6")
    #expect(ranked.items.last?.id == "item-0")
    #expect(ranked.profileEvents == 25)
    let top = try #require(ranked.items.first)
    #expect(top.modelRank == 6)
    #expect(abs(top.score - (top.modelPart + top.affinity + top.exploration)) < 1e-6)
    #expect(top.affinity > 0.8)  // 20 rewards of 1 under a prior of one observation: 20/21
    #expect(top.exploration == 0)
  }

  @Test func anEmbeddingsMatrixRanksAsPerCandidateEmbeddingsDo() throws {
    let scratch = try Scratch()
    let recommender = try scratch.recommender()
    _ = try send(recommender, (0..<5).map { feedback("m", "item-4", 1, id: "m\($0)", embedding: embedding(4)) })
    var perCandidate = Weft_V1_PersonalizeRequest()
    perCandidate.user = "m"
    perCandidate.candidates = candidates()
    var matrix = perCandidate
    matrix.candidates = candidates().map { var bare = $0; bare.embedding = []; return bare }
    matrix.embeddings = .float32(shape: [8, 8], values: candidates().flatMap(\.embedding))
    let expected = try recommender.personalize(perCandidate, headerUser: "")
    #expect(expected.items.first?.id == "item-4")
    #expect(try recommender.personalize(matrix, headerUser: "").items == expected.items)

    var both = matrix
    both.candidates[2].embedding = embedding(2)
    #expect(throws: WeftError.self) { try recommender.personalize(both, headerUser: "") }
    var wrongShape = matrix
    wrongShape.embeddings = .float32(shape: [4, 16], values: candidates().flatMap(\.embedding))
    do {
      _ = try recommender.personalize(wrongShape, headerUser: "")
      Issue.record("a [4, 16] matrix for 8 candidates was taken")
    } catch let error as WeftError {
      #expect(error.message.contains("expected [8, 8]"))
    }
  }

  @Test func aRetriedEventIsCountedOnce() throws {
    let scratch = try Scratch()
    let recommender = try scratch.recommender()
    let event = feedback("u", "x", 1, id: "click-1", embedding: embedding(2))
    // The retry arrives in the same group commit, and again later.
    let first = try send(recommender, [event, event])
    #expect(first.map(\.applied) == [1, 0])
    #expect(first.map(\.duplicates) == [0, 1])
    let again = try send(recommender, [event])
    #expect(again.first?.duplicates == 1)
    var request = Weft_V1_ProfileRequest()
    request.user = "u"
    #expect(try recommender.profile(request, headerUser: "").events == 1)
  }

  @Test func feedbackSurvivesAReopenAndTheLayoutIsTheStores() throws {
    let scratch = try Scratch()
    do {
      let recommender = try scratch.recommender()
      _ = try send(recommender, [feedback("u", "x", 0.5, id: "a", embedding: embedding(1))])
    }
    let reopened = try scratch.recommender()
    var request = Weft_V1_ProfileRequest()
    request.user = "u"
    let profile = try reopened.profile(request, headerUser: "")
    #expect(profile.exists && profile.events == 1 && profile.ratedItems == 1)
    #expect(abs(profile.meanReward - 0.5) < 1e-6)
    #expect(throws: StoreLayoutMismatch.self) {
      try scratch.recommender(layout: ProfileLayout(embeddingDimensions: 16, profileDimensions: 8, projectionSeed: 1))
    }
  }

  @Test func deletingAProfileRemovesTheUserFromTheFileAndThePopulation() throws {
    let scratch = try Scratch()
    let recommender = try scratch.recommender()
    let secret = "user-7f3a9c-secret"
    _ = try send(recommender, (0..<10).map { feedback(secret, "item-\($0)", 1, id: "ev-\(secret)-\($0)", embedding: embedding($0 % 8)) })
    var request = Weft_V1_ProfileRequest()
    request.user = secret
    let deleted = try recommender.deleteProfile(request, headerUser: "")
    #expect(deleted.existed && deleted.eventsRemoved == 10)
    #expect(try recommender.profile(request, headerUser: "").exists == false)
    #expect(recommender.population.events == 0)
    #expect(recommender.population.gram.allSatisfy { abs($0) < 1e-9 })
    // Nothing of the user is left on disk, in the database or its write-ahead log.
    for path in [scratch.store, scratch.store + "-wal"] {
      let bytes = FileManager.default.contents(atPath: path) ?? Data()
      #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(path) still holds the user id")
    }
    #expect(try !(recommender.deleteProfile(request, headerUser: "").existed))
  }

  @Test func aNewUserStartsFromThePopulationsTaste() throws {
    let scratch = try Scratch()
    let recommender = try scratch.recommender()
    _ = try personalize(recommender, user: "someone")
    _ = try send(recommender, (0..<30).map { feedback("u\($0 % 3)", "item-5", 1, id: "p\($0)") })
    #expect(try personalize(recommender, user: "newcomer", exploration: 0).first == "item-5")
  }

  @Test func recommendRanksTheCatalogueAndSkipsRatedItems() throws {
    let scratch = try Scratch()
    let recommender = try scratch.recommender()
    var upsert = Weft_V1_CatalogUpsertRequest()
    upsert.items = (0..<8).map { axis in
      var item = Weft_V1_CatalogItem()
      item.id = "song-\(axis)"
      item.embedding = embedding(axis)
      item.labels = [axis % 2 == 0 ? "even" : "odd"]
      item.baseScore = Float(axis) * 0.01
      return item
    }
    #expect(try recommender.upsertCatalog(upsert).catalogSize == 8)
    _ = try send(recommender, (0..<6).map { feedback("u", "song-3", 1, id: "r\($0)") })

    var request = Weft_V1_RecommendRequest()
    request.user = "u"
    request.k = 3
    request.exploration.scale = 0
    let ranked = try recommender.recommend(request, headerUser: "")
    #expect(ranked.catalogSize == 8)
    #expect(ranked.items.count == 3)
    #expect(!ranked.items.map(\.id).contains("song-3"))
    // The other odd items gain from the label's affinity.
    #expect(ranked.items.first.map { ["song-1", "song-5", "song-7"].contains($0.id) } == true)
    request.includeRated = true
    #expect(try recommender.recommend(request, headerUser: "").items.first?.id == "song-3")

    // Reopened, the catalogue is back from the store.
    let reopened = try scratch.recommender()
    #expect(try reopened.recommend(request, headerUser: "").catalogSize == 8)
  }

  @Test func rerankOrdersAClassifiersTopClassesByTheUsersLabels() throws {
    let scratch = try Scratch()
    let recommender = try scratch.recommender()
    var reply = Weft_V1_ClassifyResponse()
    reply.top = [("tabby", Float(0.5)), ("tiger cat", 0.3), ("lynx", 0.2)].map { label, probability in
      var entry = Weft_V1_Classification()
      (entry.label, entry.probability) = (label, probability)
      return entry
    }
    let body = try reply.serializedData()
    var ranked = try Weft_V1_ClassifyResponse(
      serializedBytes: try recommender.rerank(service: "vision", method: "classify", request: [], reply: [body], user: "u"))
    #expect(ranked.personalized.items.map(\.id) == ["tabby", "tiger cat", "lynx"])
    #expect(ranked.top == reply.top)

    // Feedback on a class seen in a reranked reply needs no features: they were remembered.
    var event = Weft_V1_Feedback()
    (event.user, event.item, event.reward, event.eventID) = ("u", "lynx", 1, "lynx-1")
    var request = Weft_V1_FeedbackRequest()
    request.events = [event, event].enumerated().map { index, event in
      var event = event
      event.eventID = "lynx-\(index)"
      return event
    }
    _ = try send(recommender, [request])
    ranked = try Weft_V1_ClassifyResponse(
      serializedBytes: try recommender.rerank(service: "vision", method: "classify", request: [], reply: [body], user: "u"))
    #expect(ranked.personalized.items.first?.id == "lynx")
    #expect(ranked.personalized.items.first?.index == 2)
    #expect(throws: WeftError.self) {
      try recommender.rerank(service: "speech", method: "detect", request: [], reply: [body], user: "u")
    }
  }

  @Test func badRequestsAreRefusedWithTheReason() throws {
    let scratch = try Scratch()
    let recommender = try scratch.recommender()
    func refusal(_ body: () throws -> Void) -> WeftError? {
      do { try body() } catch let error as WeftError { return error } catch { return nil }
      return nil
    }
    var request = Weft_V1_PersonalizeRequest()
    request.candidates = candidates()
    #expect(refusal { _ = try recommender.personalize(request, headerUser: "") }?.message.contains("no user") == true)
    #expect(refusal { _ = try recommender.personalize(request, headerUser: "u") } == nil)
    request.candidates[3].embedding = [1, 2, 3]
    #expect(refusal { _ = try recommender.personalize(request, headerUser: "u") }?.message.contains("3 values") == true)
    request.candidates = candidates() + [candidates()[0]]
    #expect(refusal { _ = try recommender.personalize(request, headerUser: "u") }?.message.contains("twice") == true)
    request.candidates = candidates()
    request.candidates[0].embedding[0] = .nan
    #expect(refusal { _ = try recommender.personalize(request, headerUser: "u") }?.code == .invalidArgument)

    let results = recommender.feedback([
      (feedback("u", "x", 2, id: "a", embedding: embedding(0)), ""),
      (feedback("u", "never-seen", 1, id: "b"), ""),
      (feedback("u", "x", 1, id: "", embedding: embedding(0)), ""),
      (feedback("u", "x", 1, id: "ok", embedding: embedding(0)), ""),
    ])
    #expect(results.map { (try? $0.get()) == nil } == [true, true, true, false])
    if case .failure(let error) = results[1] { #expect(error.code == .notFound) }
    if case .failure(let error) = results[0] { #expect(error.message.contains("between -1 and 1")) }

    var recommend = Weft_V1_RecommendRequest()
    recommend.user = "u"
    #expect(refusal { _ = try recommender.recommend(recommend, headerUser: "") }?.message.contains("k must be") == true)
  }
}
