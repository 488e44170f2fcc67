import WeftProtocol

/// One service's routing policy and the state it carries: the shares now, where a ramp
/// stands, the bandit's last update. Owned by the gateway loop; time comes in as `now`
/// (microseconds), so tests step it.
///
/// A request is placed at a point in [0, 1) (its user's stable hash, or a random draw)
/// and served by the version whose interval holds that point, intervals laid out in
/// policy order. When weights move (a ramp step) only the users in the moved part of an
/// interval change version. A version without live workers hands its interval to the
/// live ones in proportion to their shares, so its users come back when it does.
final class VersionRouter {
  let policy: RoutePolicy
  /// The versions traffic is split over: the split's, then a ramped version not in it.
  let versions: [String]
  /// Figures per version, in the order of `versions`.
  let figures: [VersionFigures]
  /// Shares of traffic now, in the order of `versions`, summing to 1.
  @exclusivity(unchecked) private(set) var shares: [Double]
  /// Whether each version has a live worker; kept current by the routing table when
  /// workers come and go, so choosing reads a flag instead of scanning workers.
  @exclusivity(unchecked) private(set) var live: [Bool]
  /// The policy's fields the hot path reads, copied out of the protobuf message (whose
  /// nested fields sit behind a copy-on-write box).
  private let shadowTarget: String?
  private let shadowShare: Double
  /// Whether user ids choose versions (the default) rather than a draw per request.
  let isSticky: Bool
  /// The split's weights normalised, with a ramped version's left out.
  private let baseShares: [Double]
  private let rampIndex: Int?

  private(set) var rampPhase = Weft_V1_RampPhase.none
  private(set) var rampStep = 0
  private(set) var rampMessage = ""
  private let rampStartedAt: UInt64
  /// The ramped version's counts when the ramp began; roll-back judges what came after.
  private let rampBaseline: (requests: UInt64, faults: UInt64)

  private var rewardsAtLastUpdate: UInt64 = 0
  private var lastBanditUpdate: UInt64 = 0
  /// Shadow copies not sent for want of a free worker.
  var shadowSkipped: UInt64 = 0
  /// Requests served outside the split because no version of it was live.
  var fallbacks: UInt64 = 0

  /// How often at most the bandit recomputes its shares, and a ramp checks its error rate.
  static let updateInterval: UInt64 = 50_000

  /// A router for a policy that passed ``RoutePolicyCheck``; `figures` gives (or makes)
  /// a version's figures.
  init(policy: RoutePolicy, at now: UInt64, figures: (String) -> VersionFigures) {
    self.policy = policy
    shadowTarget = policy.hasShadow ? policy.shadow.version : nil
    shadowShare = policy.hasShadow ? policy.shadow.share : 0
    isSticky = !policy.ignoreUserID
    var versions = policy.split.map(\.version)
    let rampVersion = policy.hasRamp ? policy.ramp.version : nil
    if let rampVersion, !versions.contains(rampVersion) { versions.append(rampVersion) }
    self.versions = versions
    self.figures = versions.map(figures)
    rampIndex = rampVersion.flatMap { versions.firstIndex(of: $0) }

    let weights = versions.map { version in
      version == rampVersion ? 0 : policy.split.first { $0.version == version }?.weight ?? 0
    }
    let total = weights.reduce(0, +)
    baseShares = weights.map { $0 / total }
    shares = baseShares
    live = versions.map { _ in true }
    rampStartedAt = now
    if let rampIndex {
      rampPhase = .ramping
      let served = self.figures[rampIndex].served
      rampBaseline = (served.requests, served.serverFaults)
    } else {
      rampBaseline = (0, 0)
    }
    var random = SplitMix64(seed: now)
    update(at: now, random: &random)
  }

  // MARK: Choosing

  /// Notes which versions have live workers.
  func updateLiveness(_ isLive: (String) -> Bool) {
    for index in versions.indices { live[index] = isLive(versions[index]) }
  }

  /// The version for a request at `point` in [0, 1); nil if no version with a share has
  /// a live worker.
  func choose(at point: Double) -> String? {
    chooseIndex(at: point).map { versions[$0] }
  }

  /// Like ``choose(at:)``, as an index into `versions` and `figures`.
  func chooseIndex(at point: Double) -> Int? {
    var start = 0.0
    var picked = -1
    for index in shares.indices where shares[index] > 0 {
      picked = index
      if point < start + shares[index] { break }
      start += shares[index]
    }
    guard picked >= 0 else { return nil }
    if live[picked] { return picked }

    // Spread the dead version's interval over the live ones, by share.
    let within = min(max((point - start) / shares[picked], 0), 1)
    var liveTotal = 0.0
    for index in shares.indices where index != picked && shares[index] > 0 && live[index] {
      liveTotal += shares[index]
    }
    guard liveTotal > 0 else { return nil }
    var target = within * liveTotal
    var last: Int?
    for index in shares.indices where index != picked && shares[index] > 0 && live[index] {
      if target < shares[index] { return index }
      target -= shares[index]
      last = index
    }
    return last
  }

  /// Whether a request should also go to the shadow version; nil when not.
  func shadowVersion(draw: Double) -> String? {
    draw < shadowShare ? shadowTarget : nil
  }

  // MARK: Time

  /// Moves a ramp to its current step (or rolls it back), and lets the bandit follow the
  /// rewards. Returns a message when something a log should say happened.
  @discardableResult
  func update(at now: UInt64, random: inout SplitMix64) -> String? {
    if let rampIndex { return updateRamp(rampIndex, at: now) }
    if policy.hasBandit { updateBandit(at: now, random: &random) }
    return nil
  }

  /// When `update` next has something to do, if ever.
  func nextUpdate(after now: UInt64) -> UInt64? {
    if rampPhase == .ramping || policy.hasBandit { return now &+ Self.updateInterval }
    return nil
  }

  private func updateRamp(_ index: Int, at now: UInt64) -> String? {
    guard rampPhase == .ramping else { return nil }
    let ramp = policy.ramp
    let served = figures[index].served
    let replies = served.requests - rampBaseline.requests
    let faults = served.serverFaults - rampBaseline.faults
    let minimum = UInt64(ramp.rollbackMinRequests > 0 ? ramp.rollbackMinRequests : 20)
    if ramp.rollbackErrorRate > 0, replies >= minimum, Double(faults) > ramp.rollbackErrorRate * Double(replies) {
      rampPhase = .rolledBack
      rampMessage = "rolled back at step \(rampStep + 1): \(faults) server errors in \(replies) replies "
        + "(\(RouteText.percent(Double(faults) / Double(replies)))), above \(RouteText.percent(ramp.rollbackErrorRate))"
      applyRampShare(0, index)
      return rampMessage
    }
    let elapsed = now &- rampStartedAt
    let step = ramp.stepMs > 0 ? min(Int(elapsed / (UInt64(ramp.stepMs) * 1_000)), ramp.shares.count - 1) : ramp.shares.count - 1
    let moved = step != rampStep || shares[index] != ramp.shares[step]
    rampStep = step
    applyRampShare(ramp.shares[step], index)
    if step == ramp.shares.count - 1 {
      rampPhase = .complete
      return "ramp of '\(ramp.version)' complete at \(RouteText.percent(ramp.shares[step]))"
    }
    return moved ? "ramp of '\(ramp.version)' at \(RouteText.percent(ramp.shares[step]))" : nil
  }

  private func applyRampShare(_ share: Double, _ index: Int) {
    shares = baseShares.map { $0 * (1 - share) }
    shares[index] = share
  }

  private func updateBandit(at now: UInt64, random: inout SplitMix64) {
    let rewards = figures.reduce(0) { $0 + $1.rewardCount }
    guard rewards != rewardsAtLastUpdate || lastBanditUpdate == 0,
      now &- lastBanditUpdate >= Self.updateInterval || lastBanditUpdate == 0
    else { return }
    rewardsAtLastUpdate = rewards
    lastBanditUpdate = max(now, 1)
    shares = ThompsonShares.shares(
      successes: figures.map(\.rewardSum),
      failures: figures.map { Double($0.rewardCount) - $0.rewardSum },
      floor: policy.bandit.floor, using: &random)
  }

  // MARK: Status

  /// The policy and where it stands, for `weft route show` and `weft status`.
  func state(isLive: (String) -> Bool) -> Weft_V1_RouteState {
    var state = Weft_V1_RouteState()
    state.policy = policy
    state.versions = versions.indices.map { index in
      var route = Weft_V1_VersionRoute()
      route.version = versions[index]
      route.share = shares[index]
      route.live = isLive(versions[index])
      return route
    }
    state.rampPhase = rampPhase
    state.rampStep = UInt32(rampStep)
    state.rampMessage = rampMessage
    state.shadowSkipped = shadowSkipped
    state.fallback = fallbacks
    state.banditRewards = rewardsAtLastUpdate
    return state
  }

  /// The share of `version` now, 0 if the policy does not name it.
  func share(of version: String) -> Double {
    versions.firstIndex(of: version).map { shares[$0] } ?? 0
  }
}
