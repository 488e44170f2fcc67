import WeftProtocol

/// The rules a ``RoutePolicy`` must follow before a gateway takes it; each error says
/// which field is wrong and why (INVALID_ARGUMENT).
public enum RoutePolicyCheck {
  /// Most versions one policy may name.
  public static let maxVersions = 16

  /// Throws INVALID_ARGUMENT naming the first rule `policy` breaks.
  public static func validate(_ policy: RoutePolicy) throws(WeftError) {
    let service = policy.service
    guard !service.isEmpty else { throw invalid("a route policy must name a service") }
    guard service != WeftMeshService.name else { throw invalid("'\(WeftMeshService.name)' is the gateway's own service and cannot be routed") }
    guard !policy.split.isEmpty else { throw invalid("the policy of '\(service)' has an empty split") }
    guard policy.split.count <= maxVersions else {
      throw invalid("the policy of '\(service)' names \(policy.split.count) versions; at most \(maxVersions)")
    }
    var seen = Set<String>()
    for entry in policy.split {
      guard !entry.version.isEmpty else { throw invalid("the split of '\(service)' has a version with no name") }
      guard seen.insert(entry.version).inserted else { throw invalid("the split of '\(service)' names version '\(entry.version)' twice") }
      guard entry.weight.isFinite, entry.weight >= 0 else {
        throw invalid("version '\(entry.version)' of '\(service)' has weight \(entry.weight); weights are finite and not negative")
      }
    }
    let rampVersion = policy.hasRamp ? policy.ramp.version : nil
    let weightOutsideRamp = policy.split.filter { $0.version != rampVersion }.reduce(0) { $0 + $1.weight }
    guard weightOutsideRamp > 0 else {
      throw invalid(rampVersion == nil
        ? "the split of '\(service)' has no version with a weight above 0"
        : "the split of '\(service)' needs a version besides the ramped '\(rampVersion!)' with a weight above 0, to ramp from")
    }
    if policy.hasShadow {
      guard !policy.shadow.version.isEmpty else { throw invalid("the shadow of '\(service)' names no version") }
      try fraction(policy.shadow.share, "the shadow share of '\(service)'")
    }
    if policy.hasRamp { try validateRamp(policy.ramp, service: service) }
    if policy.hasBandit {
      guard !policy.hasRamp else { throw invalid("the policy of '\(service)' has both a ramp and a bandit; choose one") }
      guard policy.split.count >= 2 else { throw invalid("the bandit of '\(service)' needs at least two versions in the split") }
      try fraction(policy.bandit.floor, "the bandit floor of '\(service)'")
      guard policy.bandit.floor * Double(policy.split.count) <= 1 else {
        throw invalid("the bandit floor of '\(service)' is \(policy.bandit.floor) for \(policy.split.count) versions; floor × versions must not pass 1")
      }
    }
  }

  private static func validateRamp(_ ramp: Weft_V1_RampPolicy, service: String) throws(WeftError) {
    guard !ramp.version.isEmpty else { throw invalid("the ramp of '\(service)' names no version") }
    guard !ramp.shares.isEmpty else { throw invalid("the ramp of '\(service)' has no steps") }
    var previous = 0.0
    for share in ramp.shares {
      try fraction(share, "a ramp step of '\(service)'")
      guard share >= previous else { throw invalid("the ramp steps of '\(service)' must not decrease (\(ramp.shares))") }
      previous = share
    }
    guard ramp.shares.count == 1 || ramp.stepMs > 0 else { throw invalid("the ramp of '\(service)' has several steps but no step time") }
    try fraction(ramp.rollbackErrorRate, "the roll-back error rate of '\(service)'")
  }

  private static func fraction(_ value: Double, _ what: String) throws(WeftError) {
    guard value.isFinite, value >= 0, value <= 1 else { throw invalid("\(what) is \(value); it must be between 0 and 1") }
  }

  private static func invalid(_ message: String) -> WeftError { WeftError(.invalidArgument, message) }
}
