import ArgumentParser
import WeftWorker

/// How a process that registers like a worker (a model worker, the recommender)
/// reaches its gateways.
struct WorkerLinkOptions: ParsableArguments {
  @Option(name: .customLong("gateway"), help: "Gateway backend endpoint; repeat for several.")
  var gateways: [String] = ["tcp://127.0.0.1:5556"]
  @Option(help: "Name in replies and `weft status` (default host:pid).")
  var name: String?
  @Option(help: "Most requests in flight per gateway (default twice the batch size).")
  var capacity: Int?
  @Option(help: "Heartbeat interval in milliseconds.")
  var heartbeatMs: Int = 1_000
  @Option(help: "After SIGTERM, longest time in milliseconds to finish in-flight work.")
  var drainTimeoutMs: Int = 30_000

  func validate() throws {
    if let capacity, capacity < 1 { throw ValidationError("--capacity must be at least 1") }
    guard heartbeatMs > 0 else { throw ValidationError("--heartbeat-ms must be positive") }
  }

  var configuration: WorkerConfiguration {
    WorkerConfiguration(
      gateways: gateways, name: name, capacity: capacity, heartbeatInterval: .milliseconds(heartbeatMs),
      drainTimeout: .milliseconds(drainTimeoutMs))
  }
}
