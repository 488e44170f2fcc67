import Foundation
import Synchronization
import WeftNetworkLab
import WeftProtocol
import WeftRecommender

/// Durable feedback through several recommender replicas sharing one PostgreSQL database,
/// against one replica on a SQLite file, measured in the same run.
extension RecommenderBench {
  /// Each replica is a `Recommender` with its own connection on its own thread, as its own
  /// process would be: a closed loop of feedback calls, each call one event for one of
  /// `users` users (so replicas meet on the same users now and then), committed before the
  /// next; `callsPerCommit` calls share a commit, as the worker runtime's batches do.
  func measureReplicas(in directory: URL) throws {
    print("feedback through replicas, \(replicaSeconds) s each, events committed before the reply:")
    if let reason = LabPostgres.unavailableReason {
      print("  skipped: \(reason)")
      return
    }
    let server = try LabPostgres()
    defer { server.remove() }
    let layout = ProfileLayout(embeddingDimensions: 384, profileDimensions: 32, projectionSeed: 1)
    var random = SplitMix64(seed: seed &+ 2)
    let vectors = (0..<256).map { _ in Self.unitVector(384, &random) }
    for callsPerCommit in [1, 16] {
      let sqlite = directory.appendingPathComponent("replicas-\(callsPerCommit).sqlite").path
      let baseline = try rate(replicas: 1, store: sqlite, layout: layout, vectors: vectors, callsPerCommit: callsPerCommit)
      print(
        "  \(BenchFormat.column(Double(callsPerCommit), 2)) calls per commit: SQLite, 1 replica (durability full): "
          + "\(BenchFormat.column(baseline, 7)) events/s")
      for replicas in [1, 2, 4] {
        let shared = try rate(
          replicas: replicas, store: server.createDatabase(), layout: layout, vectors: vectors, callsPerCommit: callsPerCommit)
        print(
          "  \(BenchFormat.column(Double(callsPerCommit), 2)) calls per commit: PostgreSQL, \(replicas) replica\(replicas == 1 ? " " : "s"): "
            + "\(BenchFormat.column(shared, 7)) events/s, \(String(format: "%.2f", shared / baseline))× SQLite's")
      }
    }
  }

  private func rate(replicas: Int, store: String, layout: ProfileLayout, vectors: [[Float]], callsPerCommit: Int) throws -> Double {
    let recommenders = try (0..<replicas).map { _ in
      try Recommender(configuration: RecommenderConfiguration(store: store, layout: layout))
    }
    let applied = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    let users = replicaUsers
    let until = ContinuousClock.now + .seconds(replicaSeconds)
    let started = ContinuousClock.now
    DispatchQueue.concurrentPerform(iterations: replicas) { replica in
      var random = SplitMix64(seed: UInt64(replica) &+ 77)
      var sent = 0
      while ContinuousClock.now < until {
        let calls = (0..<callsPerCommit).map { _ -> (request: Weft_V1_FeedbackRequest, headerUser: String) in
          sent += 1
          var event = Weft_V1_Feedback()
          event.user = "u\(Int(random.nextUnit() * Double(users)))"
          event.item = "i\(sent % 5_000)"
          event.reward = random.nextUnit() < 0.5 ? 1 : -1
          event.eventID = "r\(replica)-\(sent)"
          event.embedding = vectors[sent % vectors.count]
          var request = Weft_V1_FeedbackRequest()
          request.events = [event]
          return (request, "")
        }
        for result in recommenders[replica].feedback(calls) {
          switch result {
          case .success(let reply): applied.add(Int(reply.applied), ordering: .relaxed)
          case .failure: failures.add(1, ordering: .relaxed)
          }
        }
      }
    }
    let seconds = (ContinuousClock.now - started).seconds
    if failures.load(ordering: .relaxed) > 0 { print("  (\(failures.load(ordering: .relaxed)) calls failed)") }
    return Double(applied.load(ordering: .relaxed)) / seconds
  }
}
