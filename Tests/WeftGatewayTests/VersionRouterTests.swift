import Testing
import WeftProtocol

@testable import WeftGateway

@Suite struct VersionRouterTests {
  private func policy(_ split: [(String, Double)]) -> RoutePolicy {
    RoutePolicy(service: "text", split: split)
  }

  private func router(_ policy: RoutePolicy, at now: UInt64 = 1) -> VersionRouter {
    VersionRouter(policy: policy, at: now) { VersionFigures(service: "test", version: $0) }
  }

  /// Evenly spaced points over [0, 1), so proportions are exact up to the spacing.
  private func counts(_ router: VersionRouter, points: Int = 10_000, isLive: (String) -> Bool = { _ in true }) -> [String: Int] {
    router.updateLiveness(isLive)
    var counts: [String: Int] = [:]
    for index in 0..<points {
      let version = router.choose(at: (Double(index) + 0.5) / Double(points)) ?? "none"
      counts[version, default: 0] += 1
    }
    return counts
  }

  @Test func splitFollowsTheWeightsInPolicyOrder() {
    let counts = counts(router(policy([("a", 90), ("b", 10)])))
    #expect(counts == ["a": 9_000, "b": 1_000])
    let thirds = self.counts(router(policy([("a", 1), ("b", 1), ("c", 2)])))
    #expect(thirds == ["a": 2_500, "b": 2_500, "c": 5_000])
  }

  @Test func aVersionWithoutWeightGetsNothing() {
    #expect(counts(router(policy([("a", 1), ("b", 0)]))) == ["a": 10_000])
  }

  @Test func stickyPointsAreStableAndSpreadEvenly() {
    // Pinned value (worked out independently in Python): every gateway, before or after a
    // restart, places a user alike.
    #expect(UnitDraw.sticky(service: "text", userID: "alice") == UnitDraw.sticky(service: "text", userID: "alice"))
    #expect(UnitDraw.sticky(service: "text", userID: "alice") != UnitDraw.sticky(service: "vision", userID: "alice"))
    #expect(UnitDraw.sticky(service: "ab", userID: "c") != UnitDraw.sticky(service: "a", userID: "bc"))
    #expect(abs(UnitDraw.sticky(service: "text", userID: "alice") - 0.535_870_106_440_938_8) < 1e-12)
    var below = 0
    for user in 0..<10_000 where UnitDraw.sticky(service: "text", userID: "user-\(user)") < 0.1 { below += 1 }
    #expect(abs(below - 1_000) < 100, "\(below) of 10000 users below 0.1")
  }

  @Test func changingWeightsMovesOnlyTheUsersInTheMovedPart() {
    let before = router(policy([("a", 90), ("b", 10)]))
    let after = router(policy([("a", 80), ("b", 20)]))
    var moved = 0
    for user in 0..<10_000 {
      let point = UnitDraw.sticky(service: "text", userID: "user-\(user)")
      let old = before.choose(at: point)
      let new = after.choose(at: point)
      if old != new {
        moved += 1
        #expect(old == "a" && new == "b")
      }
    }
    #expect(abs(moved - 1_000) < 100, "\(moved) users moved")
  }

  @Test func aDeadVersionsShareGoesToTheLiveOnesAndNobodyElseMoves() {
    let router = router(policy([("a", 50), ("b", 30), ("c", 20)]))
    let isLive: (String) -> Bool = { $0 != "b" }
    let counts = counts(router, isLive: isLive)
    // b's 30 points split 50:20 between a and c.
    #expect(abs(counts["a"]! - 7_143) <= 1, "\(counts)")
    #expect(abs(counts["c"]! - 2_857) <= 1, "\(counts)")
    for index in 0..<1_000 {
      let point = (Double(index) + 0.5) / 1_000
      router.updateLiveness { _ in true }
      let normal = router.choose(at: point)!
      router.updateLiveness(isLive)
      if normal != "b" { #expect(router.choose(at: point) == normal) }
    }
    router.updateLiveness { _ in false }
    #expect(router.choose(at: 0.5) == nil)
  }

  @Test func shadowMirrorsItsShare() {
    var policy = policy([("a", 1)])
    policy.shadow.version = "s"
    policy.shadow.share = 0.25
    let router = router(policy)
    let mirrored = (0..<1_000).filter { router.shadowVersion(draw: (Double($0) + 0.5) / 1_000) == "s" }.count
    #expect(mirrored == 250)
  }

  @Test func rampStepsWithTimeAndRollsBackOnErrors() {
    var policy = policy([("old", 1)])
    policy.ramp.version = "new"
    policy.ramp.shares = [0.01, 0.5, 1]
    policy.ramp.stepMs = 1_000
    policy.ramp.rollbackErrorRate = 0.1
    policy.ramp.rollbackMinRequests = 20
    let start: UInt64 = 5_000_000
    let router = router(policy, at: start)
    var random = SplitMix64(seed: 1)
    #expect(router.versions == ["old", "new"])
    #expect(router.shares == [0.99, 0.01])
    router.update(at: start + 1_200_000, random: &random)
    #expect(router.shares == [0.5, 0.5])
    #expect(router.rampPhase == .ramping)

    // 19 replies all failing is not yet enough evidence; the 20th makes 20 of 20.
    let figures = router.figures[1]
    for _ in 0..<19 { figures.served.record(.internal, total: 100) }
    router.update(at: start + 1_300_000, random: &random)
    #expect(router.rampPhase == .ramping)
    figures.served.record(.internal, total: 100)
    let message = router.update(at: start + 1_400_000, random: &random)
    #expect(router.rampPhase == .rolledBack)
    #expect(router.shares == [1, 0])
    #expect(message?.contains("20 server errors in 20 replies") == true)
    // Time passing does not bring it back.
    router.update(at: start + 10_000_000, random: &random)
    #expect(router.shares == [1, 0])
  }

  @Test func rampCompletesWhenHealthy() {
    var policy = policy([("old", 1)])
    policy.ramp.version = "new"
    policy.ramp.shares = [0.1, 1]
    policy.ramp.stepMs = 1_000
    policy.ramp.rollbackErrorRate = 0.1
    let router = router(policy, at: 1)
    var random = SplitMix64(seed: 1)
    for _ in 0..<100 { router.figures[1].served.record(.ok, total: 100) }
    router.figures[1].served.record(.invalidArgument, total: 100)  // the caller's fault: not counted
    router.update(at: 2_000_001, random: &random)
    #expect(router.rampPhase == .complete)
    #expect(router.shares == [0, 1])
  }

  @Test func banditMovesTrafficToTheBetterVersionAndKeepsTheFloor() {
    var policy = policy([("a", 1), ("b", 1)])
    policy.bandit.floor = 0.05
    let router = router(policy, at: 1)
    #expect(abs(router.shares[0] - 0.5) < 0.05, "no evidence: even split, \(router.shares)")
    var random = SplitMix64(seed: 7)
    for index in 0..<100 {
      router.figures[0].credit(reward: index % 10 < 7 ? 1 : 0)
      router.figures[1].credit(reward: index % 10 < 4 ? 1 : 0)
    }
    router.update(at: 1_000_000, random: &random)
    #expect(router.shares[0] >= 0.9, "\(router.shares)")
    #expect(router.shares[1] >= 0.05 - 1e-12, "\(router.shares)")
    #expect(abs(router.shares.reduce(0, +) - 1) < 1e-9)
  }

  @Test func thompsonSamplesHaveTheRightMeans() {
    var random = SplitMix64(seed: 3)
    var sum = 0.0
    for _ in 0..<20_000 { sum += ThompsonShares.gamma(2.5, using: &random) }
    #expect(abs(sum / 20_000 - 2.5) < 0.05)
    sum = 0
    for _ in 0..<20_000 { sum += ThompsonShares.beta(3, 7, using: &random) }
    #expect(abs(sum / 20_000 - 0.3) < 0.01)
    let even = ThompsonShares.shares(successes: [5, 5], failures: [5, 5], floor: 0, using: &random)
    #expect(abs(even[0] - 0.5) < 0.05)
  }

  @Test func policiesThatCannotWorkAreRefusedWithTheReason() {
    func refusal(_ change: (inout RoutePolicy) -> Void) -> String? {
      var candidate = policy([("a", 1), ("b", 1)])
      change(&candidate)
      do {
        try RoutePolicyCheck.validate(candidate)
        return nil
      } catch {
        #expect(error.code == .invalidArgument)
        return error.message
      }
    }
    #expect(refusal { _ in } == nil)
    #expect(refusal { $0.split = [] }?.contains("empty split") == true)
    #expect(refusal { $0.split[1].version = "a" }?.contains("twice") == true)
    #expect(refusal { $0.split[0].weight = -1 }?.contains("weight -1") == true)
    #expect(refusal { $0.split[0].weight = 0; $0.split[1].weight = 0 }?.contains("above 0") == true)
    #expect(refusal { $0.shadow.version = "s"; $0.shadow.share = 1.5 }?.contains("between 0 and 1") == true)
    #expect(refusal { $0.ramp.version = "b"; $0.ramp.shares = [0.5, 0.1]; $0.ramp.stepMs = 1 }?.contains("decrease") == true)
    #expect(refusal { $0.ramp.version = "b"; $0.ramp.shares = [0.1, 0.5] }?.contains("step time") == true)
    #expect(refusal { $0.split = [$0.split[0]]; $0.ramp.version = "a"; $0.ramp.shares = [1] }?.contains("to ramp from") == true)
    #expect(refusal { $0.bandit.floor = 0.6 }?.contains("floor × versions") == true)
    #expect(refusal { $0.bandit.floor = 0.1; $0.ramp.version = "b"; $0.ramp.shares = [1] }?.contains("both") == true)
    #expect(refusal { $0.service = WeftMeshService.name }?.contains("gateway's own") == true)
  }
}
