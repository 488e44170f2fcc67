import Foundation
import SwiftProtobuf
import WeftProtocol
import ZeroMQ

/// The built-in `weft.mesh` service.
extension GatewayLoop {
  func answerMeshRequest(_ header: RoutingFields, at now: UInt64) {
    guard header.method == MeshService.statusMethod else {
      return rejectReceived(header.requestID, .notFound, "service '\(MeshService.name)' has no method '\(header.method)'; it serves: \(MeshService.statusMethod)")
    }
    var reply = ResponseHeader()
    reply.requestID = header.requestID
    reply.status = .ok
    reply.endOfStream = true
    reply.workerID = configuration.name
    let body: [UInt8]
    do {
      body = try meshStatus(at: now).serializedBytes()
    } catch {
      return rejectReceived(header.requestID, .internal, "could not encode status: \(error)")
    }
    sendToClient(identity: received, index: 0, keep: false, header: reply, body: body)
  }

  func meshStatus(at now: UInt64) -> MeshStatus {
    var inFlightByService: [String: Int] = [:]
    for request in inFlight.requests where request.isActive { inFlightByService[request.service, default: 0] += 1 }
    var status = MeshStatus()
    status.gatewayID = configuration.name
    status.uptimeMs = (now &- startedAt) / 1_000
    status.redispatched = statistics.redispatched
    status.workersEvicted = statistics.workersEvicted
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
      let workers = service.workers.compactMap { routing.workers[$0] }
      let versions = Set(workers.map(\.version)).sorted()
      entry.versions = versions.map { version in
        var versionStatus = Weft_V1_VersionStatus()
        versionStatus.version = version
        versionStatus.workers = workers.filter { $0.version == version }.map { worker in
          var workerStatus = Weft_V1_WorkerStatus()
          workerStatus.id = worker.id.description
          workerStatus.name = worker.name
          workerStatus.capacity = UInt32(worker.capacity)
          workerStatus.inFlight = UInt32(worker.outstanding)
          workerStatus.completed = worker.completed
          workerStatus.draining = worker.draining
          workerStatus.lastSeenMsAgo = UInt32(clamping: (now &- worker.lastSeen) / 1_000)
          return workerStatus
        }
        return versionStatus
      }
      return entry
    }
    return status
  }
}
