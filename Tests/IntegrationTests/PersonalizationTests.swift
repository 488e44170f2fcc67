import Foundation
import SwiftProtobuf
import Testing
import WeftClient
import WeftProtocol

/// Model → recommender → client through the gateway, with the real text worker.
@Suite(.serialized) struct PersonalizationTests {
  private let candidates = ["a small cat", "a friendly dog", "a goldfish in a bowl", "stock market news"]

  private func similarity(_ mesh: TestMesh, user: String, personalize: Bool = true, timeout: Duration = .seconds(10))
    async throws -> (Response, Weft_V1_SimilarityResponse)
  {
    var request = Weft_V1_SimilarityRequest()
    request.query = "a pet"
    request.candidates = candidates
    let options = CallOptions(timeout: timeout, userID: user, personalize: personalize)
    let response = try await mesh.client.call("text", "similarity", body: [try request.serializedData()], options: options)
    return (response, try Weft_V1_SimilarityResponse(serializedBytes: response.body.first ?? Data()))
  }

  @Test func similarityIsPersonalisedAndFallsBackToTheModelWhenTheRecommenderIsSlowOrGone() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-personalize-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let (mesh, http) = try await TestMesh.withHTTP(gatewayArguments: ["--heartbeat-ms", "100"])
    try await mesh.startWorker(name: "text-1", ["--model", "text"])
    let recommender = try await mesh.startRecommender(
      name: "recommender",
      ["--store", directory.appendingPathComponent("p.sqlite").path, "--exploration", "0", "--heartbeat-ms", "100", "--http", "127.0.0.1:0"])
    let recommenderHTTP = try await recommender.waitForLine(prefix: "recommender http listening")
      .split(separator: "=").last.map { "http://\($0)" } ?? ""

    // A new user with no exploration: the model's order, marked personalised.
    var (response, reply) = try await similarity(mesh, user: "ada")
    #expect(response.header.personalized)
    let scores = try reply.scores.float32Values()
    let modelOrder = candidates.indices.sorted { scores[$0] > scores[$1] }.map { candidates[$0] }
    #expect(reply.personalized.items.map(\.id) == modelOrder)
    #expect(reply.personalized.items.map { candidates[Int($0.index)] } == modelOrder)
    #expect(!reply.hasCandidateEmbeddings, "the embeddings the recommender used are not sent to the client")
    #expect(modelOrder.last == "stock market news")

    // Ada likes market news: it comes first for her, though the model still ranks it last.
    let likes = (0..<10).map { index in
      var event = Weft_V1_Feedback()
      (event.user, event.item, event.reward, event.eventID) = ("ada", "stock market news", 1, "ada-\(index)")
      return event
    }
    try await mesh.client.feedback(likes)
    // One sent again (a duplicate) and one out of range (refused): the recommender's metrics count each.
    _ = try await mesh.client.feedback([likes[0]])
    var bad = likes[0]
    (bad.eventID, bad.reward) = ("ada-bad", 5)
    await #expect(throws: WeftError.self) { try await mesh.client.feedback([bad]) }
    let recommenderMetrics = try await HTTPCall.get("\(recommenderHTTP)/metrics").body
    for line in [
      #"weft_recommender_feedback_events_total{outcome="applied"} 10"#, #"weft_recommender_feedback_events_total{outcome="duplicate"} 1"#,
      #"weft_recommender_feedback_events_total{outcome="refused"} 1"#, "weft_recommender_commit_seconds_count 2", "weft_recommender_profiles_cached 1",
    ] {
      #expect(recommenderMetrics.contains(line), "\(line) in \(recommenderMetrics)")
    }
    (response, reply) = try await similarity(mesh, user: "ada")
    #expect(response.header.personalized)
    #expect(reply.personalized.items.first?.id == "stock market news")
    #expect(try reply.scores.float32Values() == scores)

    // Not asked: not personalised.
    (response, reply) = try await similarity(mesh, user: "ada", personalize: false)
    #expect(!response.header.personalized && !reply.hasPersonalized)

    // A stalled recommender: the model's answer within the deadline, marked and explained.
    recommender.signal(SIGSTOP)
    let started = ContinuousClock.now
    // A 2 s deadline: under CI's load on 2 cores the model's own part took up to 0.9 s.
    (response, reply) = try await similarity(mesh, user: "ada", timeout: .seconds(2))
    let waited = ContinuousClock.now - started
    recommender.signal(SIGCONT)
    #expect(response.status == .ok && !response.header.personalized)
    #expect(waited < .milliseconds(1_800), "the recommender's share is 20% of the 2 s deadline; waited \(waited)")
    let stalledNote = response.header.metadata["weft-personalize"]?.text ?? ""
    #expect(stalledNote.hasPrefix("skipped"), "\(stalledNote)")
    // Sent to the recommender and timed out (a fallback), or not sent: its heartbeats stopped too.
    let stalledFellBack = !stalledNote.hasPrefix("skipped: no recommender is serving")
    #expect(try reply.scores.float32Values().count == candidates.count)

    // A dead one: the same.
    recommender.signal(SIGKILL)
    try await mesh.waitUntil("the gateway drops the recommender") { status in
      !status.services.contains { $0.name == "recommender" && $0.versions.contains { !$0.workers.isEmpty } }
    }
    (response, reply) = try await similarity(mesh, user: "ada")
    #expect(response.status == .ok && !response.header.personalized)
    #expect(response.header.metadata["weft-personalize"]?.text == "skipped: no recommender is serving")

    // The gateway's metrics count each outcome: two personalised, the stalled one and the last not.
    let metrics = try await HTTPCall.get("\(http)/metrics").body
    for (outcome, count) in [("personalized", 2), ("fallback", stalledFellBack ? 1 : 0), ("skipped", stalledFellBack ? 1 : 2)] where count > 0 {
      #expect(metrics.contains(#"weft_personalizations_total{service="text",outcome="\#(outcome)"} \#(count)"#), "\(outcome) in \(metrics)")
    }
  }
}
