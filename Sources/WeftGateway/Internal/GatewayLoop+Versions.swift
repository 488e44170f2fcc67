import Logging
import WeftProtocol
import ZeroMQ

/// Model versions: choosing one per request by the service's policy, shadow copies,
/// moving requests off versions that lost their workers, and policy changes.
extension GatewayLoop {
  /// The version a request runs on and its figures: the one it names, else the
  /// policy's choice, else "" (any live version, least loaded) when the service has no
  /// policy or none of the policy's versions is live.
  func chooseVersion(_ service: ServiceEntry, named: String, userID: String) -> (String, VersionFigures?) {
    guard named.isEmpty else { return (named, service.existingFigures(for: named)) }
    guard let router = service.router else { return ("", nil) }
    let point = router.isSticky && !userID.isEmpty
      ? UnitDraw.sticky(service: service.name, userID: userID) : random.nextUnit()
    if let index = router.chooseIndex(at: point) {
      return (router.versions[index], router.figures[index])
    }
    router.fallbacks += 1
    return ("", nil)
  }

  // MARK: Shadow traffic

  /// A shadow copy of request `id` when its service's policy mirrors this one: its
  /// frames are copied (reference-counted, not duplicated) before the primary is sent.
  func shadowCopy(of id: UInt64, router: VersionRouter, at now: UInt64) -> UInt64? {
    guard let primary = inFlight[id], let version = router.shadowVersion(draw: random.nextUnit()),
      version != primary.version
    else { return nil }
    guard inFlight.count < configuration.maxInFlight,
      routing.hasLiveWorker(service: primary.service, version: version)
    else {
      router.shadowSkipped += 1
      return nil
    }
    let shadow = takeRequest()
    shadow.frames.append(copiesOf: primary.frames, range: 0..<primary.frames.count)
    shadow.startShadow(
      of: primary, version: version, figures: routing.services[primary.service]?.existingFigures(for: version), at: now)
    let shadowID = inFlight.insert(shadow)
    deadlines.insert(id: shadowID, deadline: shadow.deadline)
    return shadowID
  }

  /// Sends a shadow copy to a worker of its version with room, or drops it: a shadow
  /// never waits in a queue, so it never holds back or crowds out real requests.
  func sendShadow(_ id: UInt64, at now: UInt64) {
    guard let shadow = inFlight[id] else { return }
    guard let worker = routing.pickWorker(service: shadow.service, version: shadow.version) else {
      routing.services[shadow.service]?.router?.shadowSkipped += 1
      return finish(id)
    }
    dispatch(id, to: worker, at: now)
  }

  // MARK: Versions that lose their workers

  /// Moves queued requests off versions with no live worker left, choosing again for
  /// those the policy placed. Requests that named the version keep waiting for it (a
  /// crashed worker is usually restarted) until their deadline.
  func rerouteStranded(service: String) {
    guard let entry = routing.services[service], !entry.versionQueues.isEmpty else { return }
    for version in Array(entry.versionQueues.keys) where !routing.hasLiveWorker(service: service, version: version) {
      var kept: [(UInt64, InFlightRequest)] = []
      while let id = routing.popQueued(service: service, version: version) {
        guard let request = inFlight[id], case .queued = request.state else { continue }
        routing.queuedRequestLeft(service: service)
        if request.versionPinned {
          kept.append((id, request))
          continue
        }
        let (next, figures) = chooseVersion(entry, named: "", userID: request.userID)
        request.reroute(to: next, figures: figures)
        enqueue(id, request, version: next)
      }
      for (id, request) in kept { enqueue(id, request, version: version) }
    }
  }

  // MARK: Policies

  /// Ramps, roll-backs and bandit updates due by `now`.
  func updateRouters(at now: UInt64) {
    for entry in routing.services.values {
      guard let router = entry.router else { continue }
      if let message = router.update(at: now, random: &random) {
        let level: Logger.Level = router.rampPhase == .rolledBack ? .warning : .info
        logger.log(level: level, "\(message)", metadata: ["service": "\(entry.name)"])
      }
    }
  }

  /// When a router next needs `updateRouters`, if any does.
  func nextRouterUpdate(after now: UInt64) -> UInt64? {
    routing.services.values.compactMap { $0.router?.nextUpdate(after: now) }.min()
  }

  /// Installs a policy that passed ``RoutePolicyCheck`` (replacing the service's own)
  /// or, with `clear`, removes it. In-flight and queued requests keep their versions.
  func applyRoute(_ update: RouteUpdate, at now: UInt64) throws(WeftError) {
    if update.clear {
      routing.services[update.policy.service]?.router = nil
      logger.info("route cleared", metadata: ["service": "\(update.policy.service)"])
      return
    }
    try RoutePolicyCheck.validate(update.policy)
    let policies = routing.services.values.reduce(0) { $0 + ($1.router == nil ? 0 : 1) }
    if routing.services[update.policy.service]?.router == nil && policies >= Self.maxPolicies {
      throw WeftError(.resourceExhausted, "the gateway holds \(policies) routing policies, its limit; clear one first")
    }
    let entry = routing.entry(for: update.policy.service)
    entry.router = VersionRouter(policy: update.policy, at: now) { version in
      entry.figures(for: version) ?? VersionFigures(service: entry.name, version: version)
    }
    routing.refreshLiveness(of: entry.name)
    logger.info("route set", metadata: ["service": "\(entry.name)", "policy": "\(RouteText.describe(update.policy))"])
    nextHousekeeping = min(nextHousekeeping, now)
  }

  /// Most services with a policy: a policy may name a service no worker serves yet, so
  /// this bounds what `route.set` calls can make the gateway hold.
  static var maxPolicies: Int { 1_024 }

  /// Replaces every policy with `policies` (the config file's, on start or SIGHUP).
  /// A service whose policy did not change keeps its state (a ramp in progress goes on).
  func replaceRoutes(_ policies: [RoutePolicy], at now: UInt64) {
    let named = Set(policies.map(\.service))
    for entry in routing.services.values where entry.router != nil && !named.contains(entry.name) {
      entry.router = nil
      logger.info("route removed by the config", metadata: ["service": "\(entry.name)"])
    }
    for policy in policies where routing.services[policy.service]?.router?.policy != policy {
      var update = RouteUpdate()
      update.policy = policy
      do {
        try applyRoute(update, at: now)
      } catch {
        logger.error("route refused", metadata: ["service": "\(policy.service)", "reason": "\(error.message)"])
      }
    }
  }

  /// Every policy and its state.
  func routeTable() -> RouteTable {
    var table = RouteTable()
    table.routes = routing.services.values.sorted { $0.name < $1.name }.compactMap { entry in
      entry.router?.state { routing.hasLiveWorker(service: entry.name, version: $0) }
    }
    return table
  }

  /// Credits rewards to the versions they name; all or none (INVALID_ARGUMENT or
  /// NOT_FOUND naming the first bad one).
  func credit(_ batch: RewardBatch) throws(WeftError) {
    var targets: [VersionFigures] = []
    for reward in batch.rewards {
      guard reward.reward.isFinite, reward.reward >= 0, reward.reward <= 1 else {
        throw WeftError(.invalidArgument, "reward \(reward.reward) for '\(reward.service)' version '\(reward.version)' is not between 0 and 1")
      }
      guard let figures = routing.services[reward.service]?.existingFigures(for: reward.version) else {
        throw WeftError(.notFound, "service '\(reward.service)' has no version '\(reward.version)' to credit")
      }
      targets.append(figures)
    }
    for (figures, reward) in zip(targets, batch.rewards) { figures.credit(reward: reward.reward) }
  }
}

/// The reward loop: replies carry tokens, feedback with a token credits the version.
extension GatewayLoop {
  /// A reward token for `request`'s OK reply when it was personalised or a policy chose
  /// its version (`modelHeader` is the model's reply header, naming the version that
  /// served); nil for other replies.
  func rewardToken(for request: InFlightRequest, modelHeader: UnsafeRawBufferPointer) -> String? {
    guard !request.isShadow, request.isPersonalization || (!request.versionPinned && serviceEntry(of: request)?.router != nil)
    else { return nil }
    let service = request.isPersonalization ? request.personalizedService : request.service
    guard service != RecommenderService.name,
      let version = ProtobufScan.bytesField(6, in: modelHeader), version.count > 0
    else { return nil }
    return rewardTokens.issue(service: service, version: String(decoding: version, as: UTF8.self))
  }

  /// Credits the version named by a feedback reply's reward credit (`header`: the
  /// recommender's reply header) with one reward, the mean of the feedback's rewards
  /// mapped from [-1, 1] to [0, 1]. A token credits once: a reply is one pull of the
  /// policy's arm, and a client cannot weigh one reply many times.
  func creditReward(fromFeedbackReply header: UnsafeRawBufferPointer) {
    guard let text = ProtobufScan.metadataText(RewardMetadata.credit, mapField: 12, in: header),
      let credit = RewardMetadata.parseCredit(text)
    else { return }
    guard let origin = rewardTokens.take(credit.token),
      let figures = routing.services[origin.service]?.existingFigures(for: origin.version)
    else { return }
    figures.credit(reward: (credit.sum / Double(credit.count) + 1) / 2)
  }
}

/// One-line descriptions of policies, for logs and `weft route show`.
public enum RouteText {
  /// E.g. `1=90% 2=10%, sticky, shadow 3 10%, ramp 2 1%→50%→100% every 60 s`.
  public static func describe(_ policy: RoutePolicy) -> String {
    let total = policy.split.reduce(0) { $0 + $1.weight }
    var parts = [policy.split.map { "\($0.version)=\(percent(total > 0 ? $0.weight / total : 0))" }.joined(separator: " ")]
    parts.append(policy.ignoreUserID ? "random per request" : "sticky per user")
    if policy.hasShadow { parts.append("shadow \(policy.shadow.version) \(percent(policy.shadow.share))") }
    if policy.hasRamp {
      let ramp = policy.ramp
      var text = "ramp \(ramp.version) " + ramp.shares.map(percent).joined(separator: "→")
      if ramp.shares.count > 1 { text += " every \(Double(ramp.stepMs) / 1_000) s" }
      if ramp.rollbackErrorRate > 0 { text += ", roll back above \(percent(ramp.rollbackErrorRate)) errors" }
      parts.append(text)
    }
    if policy.hasBandit { parts.append("bandit, floor \(percent(policy.bandit.floor))") }
    return parts.joined(separator: ", ")
  }

  /// A fraction as a percentage with at most one decimal, e.g. `12.5%`.
  public static func percent(_ fraction: Double) -> String {
    let value = (fraction * 1_000).rounded() / 10
    return value == value.rounded() ? "\(Int(value))%" : "\(value)%"
  }
}
