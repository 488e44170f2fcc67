import Foundation
import SwiftProtobuf
import Synchronization
import Testing
import WeftClient
import WeftNetworkLab
import WeftProtocol

/// The recommender as a real process behind a real gateway, with its store a SQLite file
/// on disk or a real PostgreSQL server the test starts.
@Suite(.serialized) struct RecommenderServiceTests {
  /// 8-value embeddings learnt in full (no projection), so tastes are exact.
  private let space = ["--embedding-dimensions", "8", "--profile-dimensions", "8", "--heartbeat-ms", "100"]

  enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
  }

  private final class Scratch {
    let directory: ScratchDirectory
    /// PostgreSQL: a new database on the process's shared server.
    let database: String?
    init(_ backend: Backend = .sqlite) throws {
      directory = try ScratchDirectory("weft-recommender")
      database = backend == .postgres ? try LabPostgres.shared().createDatabase() : nil
    }
    var store: String { database ?? directory.path("profiles.sqlite") }

    /// Runs SQL in the test's database.
    func sql(_ statement: String) throws -> String {
      guard let database, let name = database.split(separator: "/").last else { return "" }
      return try LabPostgres.shared().sql(statement, database: String(name))
    }
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

  /// One feedback call's body per event.
  private func feedbackBodies(_ events: [Weft_V1_Feedback]) throws -> [Data] {
    try events.map { event in
      var request = Weft_V1_FeedbackRequest()
      request.events = [event]
      return try request.serializedData()
    }
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

  @Test(arguments: Backend.allCases) func personalisationLearnsFromFeedbackThroughTheMesh(_ backend: Backend) async throws {
    let scratch = try Scratch(backend)
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

  @Test(arguments: Backend.allCases) func acknowledgedFeedbackSurvivesKillNine(_ backend: Backend) async throws {
    let scratch = try Scratch(backend)
    let mesh = try await TestMesh(gatewayArguments: ["--heartbeat-ms", "100"])
    let recommender = try await mesh.startRecommender(name: "first", ["--store", scratch.store] + space)
    let acknowledged = Mutex<[Int]>([])
    let client = mesh.client
    let events = (0..<2_000).map { event("kim", $0, 1, id: "kim-\($0)") }
    let bodies = try feedbackBodies(events)
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

  @Test func replicasShareOnePostgreSQLAndLoseNothingWhenOneIsKilled() async throws {
    let scratch = try Scratch(.postgres)
    let mesh = try await TestMesh(gatewayArguments: ["--heartbeat-ms", "100"])
    let first = try await mesh.startRecommender(name: "first", ["--store", scratch.store] + space)
    try await mesh.startRecommender(name: "second", ["--store", scratch.store] + space)
    let client = mesh.client
    let users = ["ann", "bob", "cy", "dee"]
    let events = (0..<400).map { event(users[$0 % 4], $0, $0 % 3 == 0 ? -1 : 1, id: "wave1-\($0)") }
    // Every event sent twice, as a client retrying after a lost reply would; the gateway
    // spreads the calls over both replicas, so a retry often lands on the other one.
    let bodies = try feedbackBodies(events + events)
    let results = await runCalls(bodies.count, concurrency: 16) { index in
      await client.result("recommender", "feedback", body: [bodies[index]], options: CallOptions(timeout: .seconds(10)))
    }
    var (applied, duplicates) = (0, 0)
    for result in results {
      let reply = try Weft_V1_FeedbackResponse(serializedBytes: try #require(try? result.get().body.first))
      applied += Int(reply.applied)
      duplicates += Int(reply.duplicates)
    }
    #expect(applied == 400 && duplicates == 400)
    for user in users { #expect(try await client.profile(of: user).events == 100, "\(user)") }
    #expect(try scratch.sql("SELECT count(*) FROM weft.events") == "400")
    #expect(try scratch.sql("SELECT sum(events) FROM weft.profiles") == "400")

    // The first replica killed right after an acknowledgement, the second still serving:
    // every acknowledged event is in the database.
    let acknowledged = Mutex<[String]>([])
    let second = (0..<1_000).map { event(users[$0 % 4], $0, 1, id: "wave2-\($0)") }
    let secondBodies = try feedbackBodies(second)
    _ = await runCalls(secondBodies.count, concurrency: 8) { index in
      let result = await client.result("recommender", "feedback", body: [secondBodies[index]], options: CallOptions(timeout: .seconds(2)))
      if case .success = result, acknowledged.withLock({ $0.append(second[index].eventID); return $0.count }) == 200 {
        first.signal(SIGKILL)
      }
      return result
    }
    #expect(await first.waitForExit(timeout: .seconds(10)) != nil)
    let acked = acknowledged.withLock { $0 }
    #expect(acked.count >= 200)
    let stored = Set(try scratch.sql("SELECT event_id FROM weft.events WHERE event_id LIKE 'wave2-%'").split(separator: "\n").map(String.init))
    #expect(Set(acked).subtracting(stored).isEmpty, "acknowledged but not in the database: \(Set(acked).subtracting(stored).count)")
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
