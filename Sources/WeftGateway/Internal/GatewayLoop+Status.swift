import Foundation
import SwiftProtobuf
import WeftProtocol
import ZeroMQ

/// The built-in `weft.mesh` service.
extension GatewayLoop {
  /// The `weft.mesh` methods that change the gateway: with CURVE on, admin keys only.
  static let adminMethods: Set<String> = [WeftMeshService.routeSet.name, WeftMeshService.reward.name]

  /// Answers `weft.mesh` methods: status, the route table, route changes, rewards. `role`
  /// is the caller's with CURVE on, nil with it off (everything is allowed).
  func answerMeshRequest(_ header: RoutingFields, role: KeyRing.Role?, at now: UInt64) {
    if let role, role != .admin, Self.adminMethods.contains(header.method) {
      return rejectReceived(
        header.requestID, .permissionDenied,
        "\(WeftMeshService.name)/\(header.method) needs an admin key; this connection's key is a \(role.rawValue)'s")
    }
    let body: [UInt8]
    do {
      switch header.method {
      case WeftMeshService.status.name:
        body = try meshStatus(at: now).serializedBytes()
      case WeftMeshService.routes.name:
        body = try routeTable().serializedBytes()
      case WeftMeshService.routeSet.name:
        try applyRoute(try receivedBody(RouteUpdate.self, for: header.method), at: now)
        body = try routeTable().serializedBytes()
      case WeftMeshService.reward.name:
        try credit(try receivedBody(RewardBatch.self, for: header.method))
        body = []
      default:
        let known = WeftMeshService.methods.map(\.name).joined(separator: ", ")
        return rejectReceived(header.requestID, .notFound, "service '\(WeftMeshService.name)' has no method '\(header.method)'; it serves: \(known)")
      }
    } catch let error as WeftError {
      return rejectReceived(header.requestID, error.code, error.message)
    } catch {
      return rejectReceived(header.requestID, .internal, "could not encode the reply: \(error)")
    }
    var reply = ResponseHeader()
    reply.requestID = header.requestID
    reply.status = .ok
    reply.endOfStream = true
    reply.workerID = configuration.name
    sendToClient(identity: received, index: 0, keep: false, header: reply, body: body)
  }

  /// The request body (frame 3 of `received`) decoded as `type`.
  private func receivedBody<M: SwiftProtobuf.Message>(_ type: M.Type, for method: String) throws(WeftError) -> M {
    guard received.count == 4 else {
      throw WeftError(.invalidArgument, "\(WeftMeshService.name)/\(method) takes one body frame, a \(M.protoMessageName); got \(received.count - 3)")
    }
    do {
      return try M(borrowing: received[3])
    } catch {
      throw WeftError(.invalidArgument, "\(WeftMeshService.name)/\(method): the body is not a valid \(M.protoMessageName): \(error)")
    }
  }

  func meshStatus(at now: UInt64) -> MeshStatus {
    var inFlightByService: [String: Int] = [:]
    for request in inFlight.requests where request.isActive { inFlightByService[request.service, default: 0] += 1 }
    var status = MeshStatus()
    status.gatewayID = configuration.name
    status.uptimeMs = (now &- startedAt) / 1_000
    status.redispatched = statistics.redispatched
    status.workersEvicted = statistics.workersEvicted
    status.undeliverable = statistics.undeliverable
    status.workerMessagesDropped = statistics.workerMessagesDropped
    status.clientBudgetRefusals = statistics.clientBudgetRefusals
    status.cancelledByClients = statistics.cancelledByClients
    status.clientPacks = statistics.clientPacks
    status.packedRequests = statistics.packedRequests
    status.repliesHeld = statistics.repliesHeld
    status.heldReplyBytes = UInt64(heldReplyBytes)
    status.clientsBehind = UInt32(backlogs.count)
    status.malformed = MalformedInputLog.Kind.allCases.compactMap { kind in
      let count = malformed.totals[kind.rawValue]
      guard count > 0 else { return nil }
      var entry = Weft_V1_KindCount()
      (entry.kind, entry.count) = (kind.name, count)
      return entry
    }
    status.replies = StatusCode.allCodes.compactMap { code in
      let count = statistics.replies[Int(code.rawValue)]
      guard count > 0 else { return nil }
      var entry = Weft_V1_StatusCount()
      entry.code = code.name
      entry.count = count
      return entry
    }
    status.services = routing.services.values.sorted { $0.name < $1.name }.map { service in
      var entry = Weft_V1_ServiceStatus()
      entry.name = service.name
      entry.methods = service.methods
      entry.queueDepth = UInt32(service.queuedCount)
      entry.queueLimit = UInt32(configuration.queueLimit)
      entry.inFlight = UInt32(inFlightByService[service.name] ?? 0)
      let workers = service.workers
      let versions = Set(workers.map(\.version)).union(service.figures.keys).union(service.router?.versions ?? []).sorted()
      if let router = service.router {
        entry.route = router.state { routing.hasLiveWorker(service: service.name, version: $0) }
      }
      entry.versions = versions.map { version in
        var versionStatus = Weft_V1_VersionStatus()
        versionStatus.version = version
        if let figures = service.existingFigures(for: version) {
          versionStatus.served = figures.served.message
          versionStatus.shadow = figures.shadow.message
          versionStatus.rewards = figures.rewardCount
          versionStatus.meanReward = figures.meanReward
        }
        versionStatus.share = service.router?.share(of: version) ?? 0
        versionStatus.workers = workers.filter { $0.version == version }.map { worker in
          var workerStatus = Weft_V1_WorkerStatus()
          workerStatus.id = worker.id.description
          workerStatus.name = worker.name
          workerStatus.capacity = UInt32(worker.capacity)
          workerStatus.inFlight = UInt32(worker.outstanding)
          workerStatus.completed = worker.completed
          workerStatus.draining = worker.draining
          workerStatus.lastSeenMsAgo = UInt32(clamping: (now &- worker.lastSeen) / 1_000)
          workerStatus.keyName = worker.keyName
          return workerStatus
        }
        return versionStatus
      }
      return entry
    }
    return status
  }
}
