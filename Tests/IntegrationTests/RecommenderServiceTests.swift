import Foundation
import SwiftProtobuf
import Synchronization
import Testing
import WeftClient
import WeftProtocol

/// The recommender as a real process behind a real gateway, with its SQLite file on disk.
@Suite(.serialized) struct RecommenderServiceTests {
  /// 8-value embeddings learnt in full (no projection), so tastes are exact.
  private let space = ["--embedding-dimensions", "8", "--profile-dimensions", "8", "--heartbeat-ms", "100"]

  private final class Scratch {
    let directory: URL
    init() throws {
      directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-recommender-\(UUID().uuidString)")
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: directory) }
    var store: String { directory.appendingPathComponent("profiles.sqlite").path }
  }

  private func axis(_ index: Int) -> [Float] {
    var values = [Float](repeating: 0, count: 8)
    values[index % 8] = 1
    return values
  }

  private func event(_ user: String, _ item: Int, _ reward: Float, id: String) -> Weft_V1_Feedback {
    var event = Weft_V1_Feedback()
    event.user = user
    event.item = "item-\(item)"
    event.reward = reward
    event.eventID = id
    event.embedding = axis(item)
    return event
  }

  private func candidates() -> [Weft_V1_Candidate] {
    (0..<8).map { index in
      var candidate = Weft_V1_Candidate()
      candidate.id = "item-\(index)"
      candidate.modelScore = 0.5 - Float(index) * 0.05
      candidate.embedding = axis(index)
      return candidate
    }
  }

  @Test func personalisationLearnsFromFeedbackThroughTheMesh() async throws {
    let scratch = try Scratch()
    let mesh = try await TestMesh()
    try await mesh.startRecommender(name: "recommender", ["--store", scratch.store] + space)
    let modelOrder = candidates().map(\.id)
    #expect(try await mesh.client.personalize(candidates(), for: "ada", exploration: 0).items.map(\.id) == modelOrder)

    let events = (0..<20).map { event("ada", 7, 1, id: "ada-\($0)") }
    let reply = try await mesh.client.feedback(events)
    #expect(reply.applied == 20)
    // A client retrying the whole call after a lost reply: every event is counted once.
    let retry = try await mesh.client.feedback(events)
    #expect(retry.applied == 0 && retry.duplicates == 20)

    let ranked = try await mesh.client.personalize(candidates(), for: "ada", exploration: 0)
    #expect(ranked.items.first?.id == "item-7")
    #expect(ranked.items.map(\.id) != modelOrder)
    #expect(try await mesh.client.profile(of: "ada").events == 20)

    // The user from the header when the request names none.
    var options = CallOptions()
    options.userID = "ada"
    #expect(try await mesh.client.profile(of: "", options: options).events == 20)

    let deleted = try await mesh.client.deleteProfile(of: "ada")
    #expect(deleted.existed && deleted.eventsRemoved == 20)
    #expect(try await mesh.client.profile(of: "ada").exists == false)
  }

  @Test func acknowledgedFeedbackSurvivesKillNine() async throws {
    let scratch = try Scratch()
    let mesh = try await TestMesh(gatewayArguments: ["--heartbeat-ms", "100"])
    let recommender = try await mesh.startRecommender(name: "first", ["--store", scratch.store] + space)
    let acknowledged = Mutex<[Int]>([])
    let client = mesh.client
    let events = (0..<2_000).map { event("kim", $0, 1, id: "kim-\($0)") }
    let bodies = try events.map { event -> Data in
      var request = Weft_V1_FeedbackRequest()
      request.events = [event]
      return try request.serializedData()
    }
    _ = await runCalls(bodies.count, concurrency: 8) { index in
      let result = await client.result("recommender", "feedback", body: [bodies[index]], options: CallOptions(timeout: .seconds(1)))
      // Killed right after an acknowledgement, with other events in flight.
      if case .success = result, acknowledged.withLock({ $0.append(index); return $0.count }) == 300 {
        recommender.signal(SIGKILL)
      }
      return result
    }
    let acked = acknowledged.withLock { $0 }
    #expect(acked.count >= 300)
    #expect(await recommender.waitForExit(timeout: .seconds(10)) != nil)

    try await mesh.startRecommender(name: "second", ["--store", scratch.store] + space)
    // Sent again, every acknowledged event is known already: it was on disk.
    let again = try await mesh.client.feedback(acked.map { events[$0] }, options: CallOptions(timeout: .seconds(10)))
    #expect(again.duplicates == UInt32(acked.count))
    #expect(again.applied == 0)
    #expect(try await mesh.client.profile(of: "kim").events >= UInt64(acked.count))
  }

  @Test func badRecommenderCallsGetTheirReason() async throws {
    let scratch = try Scratch()
    let mesh = try await TestMesh()
    try await mesh.startRecommender(name: "recommender", ["--store", scratch.store] + space)
    let garbage = await mesh.client.result("recommender", "personalize", body: [Data([0xff, 0x01])])
    guard case .failure(let error) = garbage else { Issue.record("a malformed body was taken"); return }
    #expect(error.code == .invalidArgument)
    #expect(error.message.contains("PersonalizeRequest"))

    var wrongShape = candidates()
    wrongShape[0].embedding = [1, 2, 3]
    do {
      _ = try await mesh.client.personalize(wrongShape, for: "u")
      Issue.record("a 3-value embedding was taken")
    } catch let error as WeftError {
      #expect(error.code == .invalidArgument)
      #expect(error.message.contains("3 values"))
    }
    do {
      try await mesh.client.feedback([event("u", 1, 1, id: "")])
      Issue.record("feedback without an event id was taken")
    } catch let error as WeftError {
      #expect(error.code == .invalidArgument)
    }
  }
}
