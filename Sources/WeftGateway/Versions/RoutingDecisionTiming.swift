import WeftProtocol

/// Times the per-request work version routing adds to the gateway, in process, for
/// `weft-bench routing`: wall-clock throughput on a small machine varies more between
/// runs than this costs, so it is measured on its own as well.
package enum RoutingDecisionTiming {
  /// Nanoseconds per request for: the sticky hash of a user id (or a random draw), the
  /// choice among `policy`'s versions (liveness is a stored flag), the shadow draw, and
  /// recording the outcome in the version's figures (three histograms and counters).
  package static func nanosecondsPerRequest(policy: RoutePolicy, userIDs: [String], requests: Int) -> Double {
    let router = VersionRouter(policy: policy, at: 1) { VersionFigures(service: "timing", version: $0) }
    var random = SplitMix64(seed: 42)
    var chosen = 0
    let start = MonotonicClock.now()
    for index in 0..<requests {
      let point = userIDs.isEmpty
        ? random.nextUnit() : UnitDraw.sticky(service: policy.service, userID: userIDs[index % userIDs.count])
      let version = router.chooseIndex(at: point) ?? 0
      if router.shadowVersion(draw: random.nextUnit()) != nil { chosen &+= 1 }
      router.figures[version].served.record(.ok, total: UInt64(100 + index % 900), queue: 20, compute: 50)
      chosen &+= version + 1
    }
    let elapsed = MonotonicClock.now() - start
    precondition(chosen > 0)
    return Double(elapsed) * 1_000 / Double(requests)
  }
}
