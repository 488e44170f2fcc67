import Foundation
import Testing
import WeftClient
import WeftProtocol

/// Feedback on a policy-routed reply credits the version that produced it, through real
/// gateway, echo workers of two versions and a recommender.
@Suite(.serialized) struct RewardLoopTests {
  private func event(_ index: Int, reward: Float, id: String) -> Weft_V1_Feedback {
    var event = Weft_V1_Feedback()
    event.user = "user-\(index % 5)"
    event.item = "reply-\(index)"
    event.reward = reward
    event.eventID = id
    event.labels = ["shown"]
    return event
  }

  private func version(_ status: MeshStatus, _ name: String) -> Weft_V1_VersionStatus? {
    status.services.first { $0.name == "echo" }?.versions.first { $0.version == name }
  }

  @Test func feedbackWithARewardTokenCreditsTheVersionThatServedOncePerReply() async throws {
    let scratch = try ScratchDirectory("weft-rewards")
    let mesh = try await TestMesh()
    for name in ["1", "2"] {
      try await mesh.startWorker(name: "echo-\(name)", ["--model", "echo", "--model-version", name, "--capacity", "16"])
    }
    try await mesh.startRecommender(
      name: "recommender", ["--store", scratch.path("profiles.sqlite"), "--embedding-dimensions", "8", "--profile-dimensions", "8"])
    var policy = RoutePolicy(service: "echo", split: [("1", 50), ("2", 50)])
    policy.ignoreUserID = true
    try await mesh.client.setRoute(policy)

    // Users like what version 2 produced and dislike version 1's.
    var served: [String: Int] = [:]
    for index in 0..<40 {
      let reply = try await mesh.client.call("echo", "echo", body: [Data("hello".utf8)])
      let token = try #require(reply.rewardToken, "a policy-routed reply without a reward token")
      let producer = reply.header.modelVersion
      served[producer, default: 0] += 1
      let feedback = try await mesh.client.feedback(
        [event(index, reward: producer == "2" ? 1 : -1, id: "ev-\(index)")], rewardToken: token)
      #expect(feedback.applied == 1)
      // More feedback on the same reply: applied to the profile, not credited again.
      if index == 0 {
        _ = try await mesh.client.feedback([event(index, reward: producer == "2" ? -1 : 1, id: "ev-again")], rewardToken: token)
      }
    }
    #expect(served["1", default: 0] > 0 && served["2", default: 0] > 0, "\(served)")
    let status = try await mesh.status()
    let one = try #require(version(status, "1"))
    let two = try #require(version(status, "2"))
    #expect(one.rewards == UInt64(served["1", default: 0]))
    #expect(two.rewards == UInt64(served["2", default: 0]))
    #expect(abs(one.meanReward - 0) < 1e-9)
    #expect(abs(two.meanReward - 1) < 1e-9)

    // A reply whose version the client named carries no token; a made-up token credits nothing.
    var pinned = CallOptions()
    pinned.version = "1"
    #expect(try await mesh.client.call("echo", "echo", body: [Data("x".utf8)], options: pinned).rewardToken == nil)
    _ = try await mesh.client.feedback([event(99, reward: 1, id: "ev-forged")], rewardToken: "0badc0de.1")
    let after = try await mesh.status()
    #expect(version(after, "1")?.rewards == one.rewards)
    #expect(version(after, "2")?.rewards == two.rewards)
    // Without a policy no version was chosen for the reply: no token either.
    _ = try await mesh.client.clearRoute(service: "echo")
    #expect(try await mesh.client.call("echo", "echo", body: [Data("x".utf8)]).rewardToken == nil)
  }
}
