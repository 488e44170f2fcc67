import ArgumentParser
import WeftGateway
import WeftWorker

/// How a process that registers like a worker (a model worker, the recommender)
/// reaches its gateways; each flag given replaces the config file's value.
struct WorkerLinkOptions: ParsableArguments {
  @Option(name: .customLong("gateway"), help: "Gateway backend endpoint; repeat for several (default tcp://127.0.0.1:5556).")
  var gateways: [String] = []
  @Option(help: "Name in replies and `weft status` (default host:pid).")
  var name: String?
  @Option(help: "Most requests in flight per gateway (default twice the batch size).")
  var capacity: Int?
  @Option(help: "Heartbeat interval in milliseconds (default 1000).")
  var heartbeatMs: Int?
  @Option(help: "After SIGTERM, longest time in milliseconds to finish in-flight work (default 30000).")
  var drainTimeoutMs: Int?
  @Option(help: "End an open call whose client has had no room for responses this many milliseconds (default 10000).")
  var streamStallTimeoutMs: Int?
  @Option(help: "CURVE: the gateway's NAME.key file (with --key).")
  var gatewayKey: String?
  @Option(help: "CURVE: this process's NAME.secret file (with --gateway-key).")
  var key: String?

  func validate() throws {
    if let capacity, capacity < 1 { throw ValidationError("--capacity must be at least 1") }
    if let heartbeatMs, heartbeatMs <= 0 { throw ValidationError("--heartbeat-ms must be positive") }
    if let drainTimeoutMs, drainTimeoutMs < 0 { throw ValidationError("--drain-timeout-ms must not be negative") }
    if let streamStallTimeoutMs, streamStallTimeoutMs <= 0 { throw ValidationError("--stream-stall-timeout-ms must be positive") }
    guard (gatewayKey == nil) == (key == nil) else { throw ValidationError("--gateway-key and --key go together") }
  }

  /// `link` with the flags given over it.
  func apply(to link: inout WorkerConfiguration) throws {
    if let gatewayKey, let key { link.curve = try CurveKeyFiles.credentials(gatewayKey: gatewayKey, secretKey: key) }
    if !gateways.isEmpty { link.gateways = gateways }
    if let name { link.name = name }
    if let capacity { link.capacity = capacity }
    if let heartbeatMs { link.heartbeatInterval = .milliseconds(heartbeatMs) }
    if let drainTimeoutMs { link.drainTimeout = .milliseconds(drainTimeoutMs) }
    if let streamStallTimeoutMs { link.streamStallTimeout = .milliseconds(streamStallTimeoutMs) }
  }
}
