import WeftProtocol

/// Whether a gateway can serve, from its status: ready when it knows at least one service
/// and every service it knows has a live worker that is not draining. A model name is a
/// service, or `service.method` (`text.similarity`).
struct Readiness {
  let status: MeshStatus

  init(_ status: MeshStatus) { self.status = status }

  var isReady: Bool { problem == nil }

  /// Why the gateway is not ready, or nil.
  var problem: String? {
    guard !status.services.isEmpty else { return "no worker has registered yet" }
    let down = status.services.filter { !Self.hasLiveWorker($0) }.map(\.name)
    return down.isEmpty ? nil : "no live worker for \(down.sorted().joined(separator: ", "))"
  }

  enum Model { case ready, noLiveWorker, unknown }

  func model(_ name: String) -> Model {
    let serviceName = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
    guard let service = status.services.first(where: { $0.name == serviceName }) else { return .unknown }
    if name != serviceName, !service.methods.contains(where: { "\(serviceName).\($0.name)" == name }) { return .unknown }
    return Self.hasLiveWorker(service) ? .ready : .noLiveWorker
  }

  private static func hasLiveWorker(_ service: Weft_V1_ServiceStatus) -> Bool {
    service.versions.contains { $0.workers.contains { !$0.draining } }
  }
}
