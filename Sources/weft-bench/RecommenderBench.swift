import ArgumentParser
import Foundation
import SwiftProtobuf
import WeftClient
import WeftModels
import WeftProtocol
import WeftRecommender

/// `weft-bench recommender`: the recommender's cost per call and durable feedback rate in
/// process, then a planted-preference simulation through a real gateway and recommender.
struct RecommenderBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "recommender",
    abstract: "Measure personalisation latency, durable feedback throughput, and NDCG@10 against popularity and ALS.",
    discussion: """
      Latency: 100 candidates of 384 values through the service's own decode-rank-encode \
      path, against sorting them by model score (the floor of any ranking). Throughput: \
      feedback committed to SQLite one call per commit and 64 calls per commit (a batch), \
      with durability full and normal; then 1, 2 and 4 replicas sharing a PostgreSQL \
      server the bench starts, against one replica on SQLite. Simulation: items around genre centres, users with \
      hidden tastes, rewards = taste·item + noise, one recommended item consumed per user \
      per round, feedback streamed through the mesh. Items are MiniLM embeddings of \
      generated descriptions ("a calm jazz track about the sea", from a text worker the \
      bench starts) or, with --embeddings synthetic, random vectors around genre centres; \
      relevance is the user's taste · item as a z-score over the catalogue. NDCG@10 (gains: positive true \
      relevance, ideal: the user's best unrated items) and hit rate (the user's best \
      unrated item in the 10) at checkpoints, for Weft, popularity (mean observed reward) \
      and the `implicit` library's ALS trained offline on the same events.
      """)

  @Option(help: "Simulated users.")
  var users = 200
  @Option(help: "Catalogue items.")
  var items = 1_000
  @Option(help: "Genres the items cluster around (their labels).")
  var genres = 20
  @Option(help: "Feedback events per user.")
  var rounds = 30
  @Option(help: "Item embeddings: minilm (the text worker embeds generated descriptions) or synthetic.")
  var embeddings: EmbeddingSource = .minilm
  @Option(help: "Where model weights are (default $WEFT_MODELS, else ~/.cache/weft/models).")
  var models: String?
  @Option(help: "Seed of the simulation.")
  var seed: UInt64 = 1
  @Option(help: "Personalise calls timed per setting.")
  var latencyCalls = 2_000
  @Option(help: "Python with the `implicit` package, for the ALS baseline; `none` skips it.")
  var python = "python3"
  @Option(help: "Directory for the benchmark's SQLite files (a real disk, so fsync costs what it costs).")
  var dataDirectory = ".build/bench-recommender"
  @Option(help: "Seconds each replica setting runs (PostgreSQL replicas against SQLite).")
  var replicaSeconds = 5
  @Option(help: "Users the replicas' feedback is spread over.")
  var replicaUsers = 1_000
  @Option(help: "Parts to run: all, or a comma-separated list of latency, feedback, replicas, simulation.")
  var only = "all"

  func run() async throws {
    let directory = URL(fileURLWithPath: dataDirectory).appendingPathComponent("run-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    Gemm.setThreads(1)  // as `weft recommender` runs
    let parts = Set(only.split(separator: ",").map(String.init))
    func wanted(_ part: String) -> Bool { parts.contains("all") || parts.contains(part) }
    if wanted("latency") { try measureLatency(in: directory) }
    if wanted("feedback") { try measureFeedback(in: directory) }
    if wanted("replicas") { try measureReplicas(in: directory) }
    if wanted("simulation") { try await simulate(in: directory) }
  }

  // MARK: - Latency

  private func measureLatency(in directory: URL) throws {
    print("personalize, 100 candidates × 384 values, profile of 20 events, inside the service (decode, rank, encode):")
    var random = SplitMix64(seed: seed)
    let candidates = (0..<100).map { index in
      var candidate = Weft_V1_Candidate()
      candidate.id = "item-\(index)"
      candidate.modelScore = Float(random.nextUnit())
      candidate.embedding = Self.unitVector(384, &random)
      candidate.labels = ["genre-\(index % 10)"]
      return candidate
    }
    // The same call two ways: an embedding in each candidate, or one FLOAT32 matrix.
    var perCandidate = Weft_V1_PersonalizeRequest()
    perCandidate.user = "bench"
    perCandidate.candidates = candidates
    var withMatrix = perCandidate
    withMatrix.candidates = candidates.map { var bare = $0; bare.embedding = []; return bare }
    withMatrix.embeddings = .float32(shape: [candidates.count, 384], values: candidates.flatMap(\.embedding))
    let baseline = Self.time(calls: latencyCalls) { _ = candidates.indices.sorted { candidates[$0].modelScore > candidates[$1].modelScore } }
    print("  baseline, sort by model score: p50 \(BenchFormat.column(baseline.p50, 6, 1)) µs")
    var bare = withMatrix
    bare.clearEmbeddings()
    for (form, request) in [("per candidate", perCandidate), ("as a matrix", withMatrix), ("none (candidates alone)", bare)] {
      let encoded = try request.serializedData()
      let decoding = try Self.time(calls: latencyCalls) { _ = try Weft_V1_PersonalizeRequest(serializedBytes: encoded) }
      print("  embeddings \(form): decoding the request alone (\(encoded.count) bytes): p50 \(BenchFormat.column(decoding.p50, 6, 1)) µs")
    }
    for (name, strategy, exploration) in [
      ("no exploration", ExplorationStrategy.thompson, Float(0)), ("thompson 0.2", .thompson, 0.2), ("ucb 0.2", .ucb, 0.2),
    ] {
      let store = directory.appendingPathComponent("latency-\(strategy)-\(exploration).sqlite").path
      let recommender = try Recommender(
        configuration: RecommenderConfiguration(store: store, exploration: exploration, strategy: strategy))
      let model = RecommenderModel(recommender)
      var feedback = Weft_V1_FeedbackRequest()
      feedback.events = (0..<20).map { index in
        var event = Weft_V1_Feedback()
        (event.user, event.item, event.reward, event.eventID) = ("bench", "item-\(index)", index % 3 == 0 ? -1 : 1, "e\(index)")
        event.embedding = candidates[index].embedding
        return event
      }
      _ = try model.infer([Self.call(RecommenderService.feedback, feedback)], partials: .discard)
      for (form, request) in [("per candidate", perCandidate), ("as a matrix", withMatrix)] {
        let call = try Self.call(RecommenderService.personalize, request)
        let figures = try Self.time(calls: latencyCalls) {
          let reply = try model.infer([call], partials: .discard)
          guard reply[0].status == .ok else { throw BenchError("personalize failed: \(reply[0].message)") }
        }
        let ranking = try Self.time(calls: latencyCalls) { _ = try recommender.personalize(request, headerUser: "") }
        print(
          "  \(name.padding(toLength: 15, withPad: " ", startingAt: 0)) embeddings \(form.padding(toLength: 13, withPad: " ", startingAt: 0)) "
            + "p50 \(BenchFormat.column(figures.p50, 6, 1)) µs, p99 \(BenchFormat.column(figures.p99, 6, 1)) µs; "
            + "ranking alone p50 \(BenchFormat.column(ranking.p50, 6, 1)) µs; p50 / 100 µs target: \(String(format: "%.2f", figures.p50 / 100))×")
      }
    }
  }

  // MARK: - Durable feedback

  private func measureFeedback(in directory: URL) throws {
    print("feedback, committed before the reply (one event per call):")
    var random = SplitMix64(seed: seed &+ 1)
    var rates: [String: Double] = [:]
    for durability in SQLiteProfileStore.Durability.allCases {
      for callsPerCommit in [1, 64] {
        let store = directory.appendingPathComponent("feedback-\(durability)-\(callsPerCommit).sqlite").path
        let model = RecommenderModel(
          try Recommender(
            configuration: RecommenderConfiguration(
              store: store, layout: ProfileLayout(embeddingDimensions: 384, profileDimensions: 32, projectionSeed: 1),
              durability: durability)))
        let commits = callsPerCommit == 1 ? 300 : 40
        var sent = 0
        let started = ContinuousClock.now
        for _ in 0..<commits {
          let batch = try (0..<callsPerCommit).map { _ -> InferenceRequest in
            sent += 1
            var event = Weft_V1_Feedback()
            (event.user, event.item, event.reward, event.eventID) = ("u\(sent % 100)", "i\(sent)", 1, "event-\(sent)")
            event.embedding = Self.unitVector(384, &random)
            var request = Weft_V1_FeedbackRequest()
            request.events = [event]
            return try Self.call(RecommenderService.feedback, request)
          }
          let replies = try model.infer(batch, partials: .discard)
          guard replies.allSatisfy({ $0.status == .ok }) else { throw BenchError("feedback failed: \(replies[0].message)") }
        }
        let seconds = (ContinuousClock.now - started).seconds
        let rate = Double(sent) / seconds
        rates["\(durability)-\(callsPerCommit)"] = rate
        print(
          "  durability \(durability.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)) \(BenchFormat.column(Double(callsPerCommit), 2)) calls per commit: "
            + "\(BenchFormat.column(rate, 7)) events/s")
      }
    }
    if let single = rates["full-1"], let grouped = rates["full-64"] {
      print("  group commit gains \(String(format: "%.1f", grouped / single))× with durability full")
    }
  }

  // MARK: - Simulation

  /// Where the simulation's item embeddings come from.
  enum EmbeddingSource: String, ExpressibleByArgument, CaseIterable {
    /// MiniLM embeddings (the text worker) of generated descriptions, "a calm jazz track about the sea".
    case minilm
    /// Random vectors around random genre centres.
    case synthetic
  }

  /// The planted world: item embeddings and labels, user tastes, true relevance.
  private struct World {
    var itemVectors: [[Float]]
    var itemLabels: [String]
    /// `users × items`: the user's taste · the item, as a z-score over the catalogue,
    /// halved, so a user's favourites score about 1 whatever the embedding space's scale.
    var relevance: [[Float]]

    init(itemVectors: [[Float]], itemLabels: [String], tastes: [[Float]]) {
      self.itemVectors = itemVectors
      self.itemLabels = itemLabels
      relevance = tastes.map { taste in
        let raw = itemVectors.map { item in zip(taste, item).reduce(0) { $0 + $1.0 * $1.1 } }
        let mean = raw.reduce(0, +) / Float(raw.count)
        let deviation = (raw.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(raw.count)).squareRoot()
        return raw.map { 0.5 * ($0 - mean) / max(deviation, 1e-6) }
      }
    }

    func relevance(_ user: Int, _ item: Int) -> Float { relevance[user][item] }
  }

  private static let genreNames = [
    "jazz", "rock", "classical", "hip hop", "country", "reggae", "blues", "techno", "folk", "metal", "opera", "salsa",
    "punk", "gospel", "ambient", "disco", "bluegrass", "flamenco", "k-pop", "soul",
  ]
  private static let moods = ["calm", "angry", "joyful", "melancholic", "romantic", "dark", "playful", "epic", "dreamy", "tense"]
  private static let topics = [
    "the sea", "a broken heart", "city nights", "a road trip", "summer rain", "old friends", "a revolution", "the mountains",
    "a first kiss", "space travel",
  ]

  /// Items around `genres` centres: random vectors, or MiniLM embeddings of generated
  /// descriptions (`client` reaches a text worker). Tastes mix two genres' centres.
  private func makeWorld(embeddingsFrom client: WeftClient?) async throws -> World {
    var random = SplitMix64(seed: seed &+ 2)
    let dimensions = 384
    var centres: [[Float]]
    var itemVectors: [[Float]]
    if let client {
      let names = (0..<genres).map { Self.genreNames[$0 % Self.genreNames.count] + ($0 < Self.genreNames.count ? "" : " \($0)") }
      centres = try await client.embed(names.map { "\($0) music" })
      let descriptions = (0..<items).map { item in
        let genre = names[item % genres]
        let mood = Self.moods[(item / genres) % Self.moods.count]
        let topic = Self.topics[(item / (genres * Self.moods.count)) % Self.topics.count]
        let take = item / (genres * Self.moods.count * Self.topics.count)
        return "a \(mood) \(genre) track about \(topic)" + (take > 0 ? ", take \(take + 1)" : "")
      }
      itemVectors = []
      for start in stride(from: 0, to: items, by: 64) {
        itemVectors += try await client.embed(Array(descriptions[start..<min(start + 64, items)]), options: CallOptions(timeout: .seconds(60)))
      }
    } else {
      centres = (0..<genres).map { _ in Self.unitVector(dimensions, &random) }
      itemVectors = (0..<items).map { item -> [Float] in
        let noise = Self.unitVector(dimensions, &random)
        return Self.normalized(zip(centres[item % genres], noise).map { $0 + 0.8 * $1 })
      }
    }
    let tastes = (0..<users).map { _ -> [Float] in
      let first = centres[Int(random.next() % UInt64(genres))]
      let second = centres[Int(random.next() % UInt64(genres))]
      let noise = Self.unitVector(dimensions, &random)
      return Self.normalized((0..<dimensions).map { first[$0] + 0.5 * second[$0] + 0.4 * noise[$0] })
    }
    return World(itemVectors: itemVectors, itemLabels: (0..<items).map { "genre-\($0 % genres)" }, tastes: tastes)
  }

  private func simulate(in directory: URL) async throws {
    print(
      "simulation: \(users) users, \(items) items in \(genres) genres (\(embeddings) embeddings), \(rounds) feedback events per user, "
        + "through a gateway and recommender:")
    let store = directory.appendingPathComponent("simulation.sqlite").path
    var processes = [["recommender", "--store", store]]
    if embeddings == .minilm {
      let weights = ModelCatalog.directory(models) + "/minilm-l6-v2"
      guard FileManager.default.fileExists(atPath: weights) else {
        throw BenchError("no MiniLM weights at \(weights): run scripts/fetch-models.sh, or use --embeddings synthetic")
      }
      processes.append(["worker", "--model", "text", "--models", ModelCatalog.directory(models)])
    }
    let mesh = try await BenchMesh.start(processes: processes)
    defer { mesh.stop() }
    let client = try WeftClient(gateways: [mesh.frontend])
    defer { client.close() }
    let world = try await makeWorld(embeddingsFrom: embeddings == .minilm ? client : nil)

    try await client.upsertCatalog(
      (0..<items).map { item in
        var entry = Weft_V1_CatalogItem()
        entry.id = "\(item)"
        entry.embedding = world.itemVectors[item]
        entry.labels = [world.itemLabels[item]]
        return entry
      }, options: CallOptions(timeout: .seconds(60)))

    var random = SplitMix64(seed: seed &+ 3)
    var events: [(user: Int, item: Int, reward: Float, round: Int)] = []
    var rated = [Set<Int>](repeating: [], count: users)
    let checkpoints = [0, 5, 10, 20, rounds].filter { $0 <= rounds }.reduce(into: [Int]()) { if !$0.contains($1) { $0.append($1) } }
    var rows: [(round: Int, weft: Quality, popularity: Quality)] = []
    var weftLists: [Int: [[Int]]] = [:]
    for round in 0...rounds {
      if checkpoints.contains(round) {
        let lists = try await recommendations(client, exploration: 0)
        weftLists[round] = lists
        rows.append((round, quality(lists, world, rated), quality(popularityLists(events, rated), world, rated)))
      }
      guard round < rounds else { break }
      // Each user consumes the first of their 10 recommendations (with exploration) and rates it.
      let shown = try await recommendations(client, exploration: nil)
      var feedback: [Weft_V1_Feedback] = []
      for user in 0..<users {
        guard let item = shown[user].first else { continue }
        let noise = Float(random.nextStandardNormal()) * 0.1
        let reward = max(-1, min(1, world.relevance(user, item) + noise))
        events.append((user, item, reward, round))
        rated[user].insert(item)
        var event = Weft_V1_Feedback()
        (event.user, event.item, event.reward, event.eventID) = ("user-\(user)", "\(item)", reward, "\(user)-\(round)")
        feedback.append(event)
      }
      try await client.feedback(feedback, options: CallOptions(timeout: .seconds(60)))
    }

    let als = try alsLists(events: events, checkpoints: checkpoints)
    print("  events/user   Weft NDCG@10  hit   popularity NDCG@10  hit   ALS NDCG@10  hit   Weft/popularity  Weft/ALS")
    for (index, row) in rows.enumerated() {
      let alsQuality = als.map { quality($0[index], world, ratedBefore(row.round, events)) }
      let line =
        "  \(BenchFormat.column(Double(row.round), 11))   \(BenchFormat.column(row.weft.ndcg, 12, 3)) \(BenchFormat.column(row.weft.hits, 4, 2))"
        + "   \(BenchFormat.column(row.popularity.ndcg, 18, 3)) \(BenchFormat.column(row.popularity.hits, 4, 2))"
        + "   \(alsQuality.map { BenchFormat.column($0.ndcg, 11, 3) + " " + BenchFormat.column($0.hits, 4, 2) } ?? "          —    —")"
        + "   \(BenchFormat.column(row.weft.ndcg / max(row.popularity.ndcg, 1e-9), 15, 2))"
        + "  \(alsQuality.flatMap { $0.ndcg > 0 ? BenchFormat.column(row.weft.ndcg / $0.ndcg, 8, 2) : nil } ?? "       —")"
      print(line)
    }
    if als == nil { print("  ALS skipped: \(python == "none" ? "--python none" : "\(python) lacks the implicit package (pip install implicit)")") }
  }

  private struct Quality {
    var ndcg: Double
    var hits: Double
  }

  /// Every user's top 10 from the recommender (unrated items only).
  private func recommendations(_ client: WeftClient, exploration: Float?) async throws -> [[Int]] {
    var lists = [[Int]](repeating: [], count: users)
    try await withThrowingTaskGroup(of: (Int, [Int]).self) { group in
      var next = 0
      func add() {
        let user = next
        next += 1
        group.addTask {
          let ranked = try await client.recommend(for: "user-\(user)", k: 10, exploration: exploration)
          return (user, ranked.items.compactMap { Int($0.id) })
        }
      }
      for _ in 0..<min(16, users) { add() }
      while let (user, list) = try await group.next() {
        lists[user] = list
        if next < users { add() }
      }
    }
    return lists
  }

  /// Non-personalised: items by mean observed reward (shrunk by one pseudo-event), rated ones left out.
  private func popularityLists(_ events: [(user: Int, item: Int, reward: Float, round: Int)], _ rated: [Set<Int>]) -> [[Int]] {
    var sums = [Double](repeating: 0, count: items)
    var counts = [Double](repeating: 0, count: items)
    for event in events {
      sums[event.item] += Double(event.reward)
      counts[event.item] += 1
    }
    let order = (0..<items).sorted { sums[$0] / (counts[$0] + 1) > sums[$1] / (counts[$1] + 1) }
    return (0..<users).map { user in Array(order.lazy.filter { !rated[user].contains($0) }.prefix(10)) }
  }

  private func ratedBefore(_ round: Int, _ events: [(user: Int, item: Int, reward: Float, round: Int)]) -> [Set<Int>] {
    var rated = [Set<Int>](repeating: [], count: users)
    for event in events where event.round < round { rated[event.user].insert(event.item) }
    return rated
  }

  /// Mean NDCG@10 (gains: positive true relevance) and hit rate (the best unrated item listed).
  private func quality(_ lists: [[Int]], _ world: World, _ rated: [Set<Int>]) -> Quality {
    var ndcg = 0.0
    var hits = 0.0
    for user in 0..<users {
      let gains = (0..<items).map { rated[user].contains($0) ? -1 : Double(max(0, world.relevance(user, $0))) }
      let ideal = gains.enumerated().sorted { $0.element > $1.element }.prefix(10)
      let idealDCG = ideal.enumerated().reduce(0.0) { $0 + max(0, $1.element.element) / log2(Double($1.offset) + 2) }
      let dcg = lists[user].prefix(10).enumerated().reduce(0.0) { $0 + max(0, gains[$1.element]) / log2(Double($1.offset) + 2) }
      ndcg += idealDCG > 0 ? dcg / idealDCG : 0
      if let best = ideal.first?.offset, lists[user].prefix(10).contains(best) { hits += 1 }
    }
    return Quality(ndcg: ndcg / Double(users), hits: hits / Double(users))
  }

  /// ALS's top 10 per user at each checkpoint, or nil when its Python is unavailable.
  private func alsLists(events: [(user: Int, item: Int, reward: Float, round: Int)], checkpoints: [Int]) throws -> [[[Int]]]? {
    guard python != "none" else { return nil }
    let script = benchRepositoryRoot + "/Benchmarks/recommender/als_baseline.py"
    let task: [String: Any] = [
      "users": users, "items": items, "k": 10, "checkpoints": checkpoints,
      "events": events.map { [$0.user, $0.item, Double($0.reward), $0.round] as [Any] },
    ]
    let input = try JSONSerialization.data(withJSONObject: task)
    let executable = python.hasPrefix("/") ? python : "/usr/bin/env"
    let arguments = python.hasPrefix("/") ? [script] : [python, script]
    guard let output = try? benchSubprocessOutput("ALS baseline", executable: executable, arguments: arguments, input: input),
      let object = (try? JSONSerialization.jsonObject(with: output)) as? [String: Any],
      let lists = object["checkpoints"] as? [[[Int]]]
    else { return nil }
    return lists
  }

  // MARK: - Helpers

  private static func call<Request, Reply>(_ method: ServiceMethod<Request, Reply>, _ message: Request) throws -> InferenceRequest {
    InferenceRequest(
      method: method.name, header: RequestHeader(), body: [try message.serializedData()], deadline: .now + .seconds(60))
  }

  private static func time(calls: Int, _ body: () throws -> Void) rethrows -> (p50: Double, p99: Double) {
    for _ in 0..<min(200, calls) { try body() }
    var samples: [Double] = []
    samples.reserveCapacity(calls)
    for _ in 0..<calls {
      let started = ContinuousClock.now
      try body()
      samples.append((ContinuousClock.now - started).seconds * 1e6)
    }
    samples.sort()
    return (BenchFormat.percentile(samples, 50), BenchFormat.percentile(samples, 99))
  }

  static func unitVector(_ dimensions: Int, _ random: inout SplitMix64) -> [Float] {
    normalized((0..<dimensions).map { _ in Float(random.nextStandardNormal()) })
  }

  private static func normalized(_ vector: [Float]) -> [Float] {
    let length = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return length > 0 ? vector.map { $0 / length } : vector
  }
}
