import Foundation
import Synchronization
import Testing
import WeftNetworkLab
import WeftProtocol

@testable import WeftRecommender

/// The recommender's guarantees on each store: a real SQLite file, and a real PostgreSQL
/// server this test starts on a free port (`initdb` in a temporary folder).
@Suite(.serialized) struct ProfileStoreTests {
  enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
  }

  /// Embeddings of 8 values learnt in full (no projection), so statistics are exact.
  private static let layout = ProfileLayout(embeddingDimensions: 8, profileDimensions: 8, projectionSeed: 1)

  /// Where a test's recommenders keep their profiles; removed when the test ends.
  private final class Place {
    let directory: URL
    /// PostgreSQL: the server, and the database of this test on it.
    let server: LabPostgres?
    let database: String?
    private let ownsServer: Bool

    /// A new SQLite file, or a new database on the process's shared server; `ownServer`
    /// starts a server for this test alone (one it may take down).
    init(_ backend: Backend, ownServer: Bool = false) throws {
      directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-store-\(UUID().uuidString)")
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      ownsServer = ownServer
      server = backend == .postgres ? try (ownServer ? LabPostgres() : LabPostgres.shared()) : nil
      database = try server?.createDatabase()
    }

    deinit {
      if ownsServer { server?.remove() }
      try? FileManager.default.removeItem(at: directory)
    }

    var location: String { database ?? directory.appendingPathComponent("profiles.sqlite").path }

    /// Runs SQL in this test's database.
    func sql(_ statement: String) throws -> String {
      guard let server, let database, let name = database.split(separator: "/").last else { return "" }
      return try server.sql(statement, database: String(name))
    }

    func recommender(
      layout: ProfileLayout = ProfileStoreTests.layout, idempotencyWindow: Duration = .seconds(3_600)
    ) throws -> Recommender {
      try Recommender(
        configuration: RecommenderConfiguration(
          store: location, layout: layout, exploration: 0, idempotencyWindow: idempotencyWindow))
    }
  }

  private static func axis(_ index: Int, tilt: Float = 0) -> [Float] {
    var values = [Float](repeating: 0, count: 8)
    values[index % 8] = 1
    values[(index + 1) % 8] = tilt
    return values
  }

  private static func event(_ user: String, _ item: Int, _ reward: Float, id: String) -> Weft_V1_Feedback {
    var event = Weft_V1_Feedback()
    event.user = user
    event.item = "item-\(item)"
    event.reward = reward
    event.eventID = id
    event.embedding = axis(item, tilt: Float(item % 3) * 0.25)
    event.labels = [item % 2 == 0 ? "even" : "odd"]
    return event
  }

  private static func request(_ events: [Weft_V1_Feedback]) -> Weft_V1_FeedbackRequest {
    var request = Weft_V1_FeedbackRequest()
    request.events = events
    return request
  }

  private static func send(_ recommender: Recommender, _ events: [Weft_V1_Feedback]) throws -> Weft_V1_FeedbackResponse {
    try recommender.feedback([(request(events), "")])[0].get()
  }

  private static func profile(_ recommender: Recommender, _ user: String) throws -> Weft_V1_Profile {
    var request = Weft_V1_ProfileRequest()
    request.user = user
    return try recommender.profile(request, headerUser: "")
  }

  /// A user's statistics straight from a new connection to the store, not from any cache.
  private static func stored(_ place: Place, _ user: String) throws -> StoredProfile? {
    try place.recommender().store.profile(of: user)
  }

  /// Statistics that do not depend on the order events arrived in: counts, sums, the Gram
  /// matrix and the reward vector (label residuals do: each is measured against the mean
  /// before it).
  private static func expectSameSums(_ a: StoredProfile?, _ b: StoredProfile?, _ what: String) {
    guard let a, let b else {
      Issue.record("\(what): one side has no statistics (\(a == nil), \(b == nil))")
      return
    }
    #expect(a.events == b.events, "\(what): events")
    #expect(abs(a.rewardSum - b.rewardSum) < 1e-9, "\(what): reward sum")
    #expect(zip(a.gram, b.gram).allSatisfy { abs($0 - $1) < 1e-9 }, "\(what): gram")
    #expect(zip(a.rewardVector, b.rewardVector).allSatisfy { abs($0 - $1) < 1e-9 }, "\(what): reward vector")
    #expect(a.labels.mapValues(\.events) == b.labels.mapValues(\.events), "\(what): label counts")
  }

  @Test(arguments: Backend.allCases) func acknowledgedFeedbackIsInTheStoreAndARetryCountsOnce(_ backend: Backend) throws {
    let place = try Place(backend)
    let recommender = try place.recommender()
    let events = (0..<10).map { Self.event("ada", $0, 1, id: "ada-\($0)") }
    #expect(try Self.send(recommender, events).applied == 10)
    let stored = try #require(try Self.stored(place, "ada"))
    #expect(stored.events == 10)
    #expect(stored.labels["odd"]?.events == 5)
    // A second process, retrying: nothing is counted twice.
    let other = try place.recommender()
    let retry = try Self.send(other, events)
    #expect(retry.applied == 0 && retry.duplicates == 10)
    #expect(try Self.stored(place, "ada")?.events == 10)
    #expect(try Self.profile(other, "ada").ratedItems == 10)
  }

  @Test(arguments: Backend.allCases) func twoReplicasWritingTheSameUsersAgreeWithOne(_ backend: Backend) throws {
    let users = ["u0", "u1", "u2"]
    // Every event sent by both replicas, in different orders and groupings.
    let events = (0..<120).map { Self.event(users[$0 % 3], $0 % 8, $0 % 5 == 0 ? -1 : 0.5, id: "ev-\($0)") }

    let single = try Place(backend)
    let alone = try single.recommender()
    for chunk in stride(from: 0, to: events.count, by: 7) { _ = try Self.send(alone, Array(events[chunk..<min(chunk + 7, events.count)])) }

    let shared = try Place(backend)
    let replicas = [try shared.recommender(), try shared.recommender()]
    let applied = Atomic<Int>(0)
    let failures = Mutex<[String]>([])
    DispatchQueue.concurrentPerform(iterations: 2) { replica in
      let order = replica == 0 ? Array(events) : events.reversed()
      for chunk in stride(from: 0, to: order.count, by: replica == 0 ? 5 : 3) {
        do {
          let reply = try Self.send(replicas[replica], Array(order[chunk..<min(chunk + (replica == 0 ? 5 : 3), order.count)]))
          applied.add(Int(reply.applied), ordering: .relaxed)
        } catch {
          failures.withLock { $0.append("\(error)") }
        }
      }
    }
    #expect(failures.withLock { $0 } == [])
    #expect(applied.load(ordering: .relaxed) == events.count)
    for user in users { Self.expectSameSums(try Self.stored(shared, user), try Self.stored(single, user), user) }
    Self.expectSameSums(try shared.recommender().store.population(), try single.recommender().store.population(), "population")
    // Each replica sees the other's writes: its cached profile was dropped.
    for replica in replicas {
      #expect(try Self.profile(replica, "u0").events == 40)
      #expect(replica.population.events == UInt64(events.count))
    }
    // And the posterior each serves is the single replica's.
    let expected = try Self.profile(alone, "u1").preference
    for replica in replicas {
      #expect(zip(try Self.profile(replica, "u1").preference, expected).allSatisfy { abs($0 - $1) < 1e-5 })
    }
  }

  @Test(arguments: Backend.allCases) func deletingAUserRemovesTheirRowsAndTheirShareOfThePopulation(_ backend: Backend) throws {
    let place = try Place(backend)
    let recommender = try place.recommender()
    let secret = "user-7f3a9c-secret"
    _ = try Self.send(recommender, (0..<6).map { Self.event(secret, $0, 1, id: "s-\($0)") })
    _ = try Self.send(recommender, (0..<4).map { Self.event("keeps", $0, -1, id: "k-\($0)") })
    var request = Weft_V1_ProfileRequest()
    request.user = secret
    let deleted = try recommender.deleteProfile(request, headerUser: "")
    #expect(deleted.existed && deleted.eventsRemoved == 6)
    #expect(try Self.stored(place, secret) == nil)
    // The population is exactly the remaining user's statistics.
    let population = try place.recommender().store.population()
    Self.expectSameSums(population, try Self.stored(place, "keeps"), "population after delete")
    #expect(try place.recommender().store.ratedItems(of: secret).isEmpty)
    if place.server != nil {
      for table in ["profiles", "label_stats", "events", "rated_items"] {
        #expect(try place.sql("SELECT count(*) FROM weft.\(table) WHERE user_id = '\(secret)'") == "0", "\(table)")
      }
    }
  }

  @Test(arguments: Backend.allCases) func eventIDsOlderThanTheWindowAreForgottenButWhatTheyTaughtStays(_ backend: Backend) throws {
    let place = try Place(backend)
    let recommender = try place.recommender(idempotencyWindow: .seconds(1))
    let old = Self.event("w", 1, 1, id: "old")
    _ = try Self.send(recommender, [old])
    #expect(try Self.send(recommender, [old]).duplicates == 1)
    Thread.sleep(forTimeInterval: 1.3)
    // The next feedback forgets ids past the window, so the table stays the window's size.
    _ = try Self.send(recommender, [Self.event("w", 2, 1, id: "new")])
    #expect(try Self.stored(place, "w")?.events == 2)
    // A retry older than the window is applied again: the documented cost of a bounded window.
    #expect(try Self.send(recommender, [old]).applied == 1)
    #expect(try Self.stored(place, "w")?.events == 3)
    #expect(try recommender.store.ratedItems(of: "w") == ["item-1", "item-2"])
  }

  @Test(arguments: Backend.allCases) func anotherReplicasCatalogueUpsertIsServed(_ backend: Backend) throws {
    let place = try Place(backend)
    let (first, second) = (try place.recommender(), try place.recommender())
    var recommend = Weft_V1_RecommendRequest()
    recommend.user = "r"
    recommend.k = 5
    #expect(try first.recommend(recommend, headerUser: "").catalogSize == 0)
    var upsert = Weft_V1_CatalogUpsertRequest()
    upsert.items = (0..<4).map { index in
      var item = Weft_V1_CatalogItem()
      item.id = "song-\(index)"
      item.embedding = Self.axis(index)
      item.baseScore = Float(index)
      return item
    }
    #expect(try second.upsertCatalog(upsert).catalogSize == 4)
    let served = try first.recommend(recommend, headerUser: "")
    #expect(served.catalogSize == 4)
    #expect(served.items.first?.id == "song-3")
    // Every write acknowledged by one replica is served by the next call to the other, not
    // a moment later: the notification can reach the other's session after the commit returns.
    for round in 4..<44 {
      var next = Weft_V1_CatalogUpsertRequest()
      var item = Weft_V1_CatalogItem()
      item.id = "song-\(round)"
      item.embedding = Self.axis(round)
      item.baseScore = Float(round)
      next.items = [item]
      _ = try second.upsertCatalog(next)
      let top = try first.recommend(recommend, headerUser: "").items.first?.id
      #expect(top == item.id, "round \(round)")
      if top != item.id { break }
    }
  }

  @Test(arguments: Backend.allCases) func aStoreMadeForOtherDimensionsIsRefused(_ backend: Backend) throws {
    let place = try Place(backend)
    _ = try place.recommender()
    #expect(throws: StoreLayoutMismatch.self) {
      try place.recommender(layout: ProfileLayout(embeddingDimensions: 16, profileDimensions: 8, projectionSeed: 1))
    }
  }

  @Test func aReplicaStartedWhilePostgreSQLIsDownIsUnavailableThenRecovers() throws {
    let place = try Place(.postgres, ownServer: true)
    let server = try #require(place.server)
    _ = try Self.send(try place.recommender(), [Self.event("p", 1, 1, id: "p-1")])
    try server.stop()
    let recommender = try place.recommender()
    do {
      _ = try Self.profile(recommender, "p")
      Issue.record("a call succeeded with the database down")
    } catch let error as WeftError {
      #expect(error.code == .unavailable)
      #expect(error.message.contains("unreachable"), "\(error.message)")
    }
    let failed = recommender.feedback([(Self.request([Self.event("p", 2, 1, id: "p-2")]), "")])
    #expect(throws: WeftError.self) { try failed[0].get() }
    try server.start()
    // It reconnects at most once a second; bounded wait.
    let deadline = Date().addingTimeInterval(10)
    var events: UInt64?
    while events == nil && Date() < deadline {
      events = try? Self.profile(recommender, "p").events
      if events == nil { Thread.sleep(forTimeInterval: 0.2) }
    }
    #expect(events == 1)
    #expect(try Self.send(recommender, [Self.event("p", 2, 1, id: "p-2")]).applied == 1)

    // The database going away under a running replica: UNAVAILABLE, then served again.
    try server.stop()
    #expect(throws: WeftError.self) { try Self.profile(recommender, "p") }
    try server.start()
    var recovered = false
    let again = Date().addingTimeInterval(10)
    while !recovered && Date() < again {
      recovered = (try? Self.profile(recommender, "p").events) == 2
      if !recovered { Thread.sleep(forTimeInterval: 0.2) }
    }
    #expect(recovered)
  }
}
