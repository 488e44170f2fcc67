import WeftProtocol

/// Whether a gateway can serve, from its status: ready when it knows at least one service
/// and every service it knows has a live worker that is not draining.
struct Readiness {
  let status: MeshStatus

  init(_ status: MeshStatus) { self.status = status }

  var isReady: Bool { problem == nil }

  /// Why the gateway is not ready, or nil.
  var problem: String? {
    guard !status.services.isEmpty else { return "no worker has registered yet" }
    let down = status.services.filter { !Self.hasLiveWorker($0.versions) }.map(\.name)
    return down.isEmpty ? nil : "no live worker for \(down.sorted().joined(separator: ", "))"
  }

  /// Whether one of `versions` has a worker that is not draining: what "ready" means for
  /// the gateway, a model and a model version alike.
  static func hasLiveWorker(_ versions: [Weft_V1_VersionStatus]) -> Bool {
    versions.contains { $0.workers.contains { !$0.draining } }
  }
}
