import ArgumentParser
import Logging
import WeftModels
import WeftWorker

/// `weft worker`: hosts one model until SIGTERM (drains) or SIGINT.
struct WorkerCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "worker", abstract: "Host one model behind one or more gateways.")

  @OptionGroup var model: ModelOptions
  @Option(name: .customLong("gateway"), help: "Gateway backend endpoint; repeat for several.")
  var gateways: [String] = ["tcp://127.0.0.1:5556"]
  @Option(help: "Worker name in replies and `weft status` (default host:pid).")
  var name: String?
  @Option(help: "Most requests in flight per gateway (default twice the batch size).")
  var capacity: Int?
  @Option(help: "Heartbeat interval in milliseconds.")
  var heartbeatMs: Int = 1_000
  @Option(help: "After SIGTERM, longest time in milliseconds to finish in-flight work.")
  var drainTimeoutMs: Int = 30_000
  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    if let capacity, capacity < 1 { throw ValidationError("--capacity must be at least 1") }
    guard heartbeatMs > 0 else { throw ValidationError("--heartbeat-ms must be positive") }
  }

  func run() async throws {
    let logger = logging.bootstrap(label: "weft.worker")
    exitWithParentIfSupervised()
    let loaded = try model.makeModel()
    let configuration = WorkerConfiguration(
      gateways: gateways, name: name, capacity: capacity, heartbeatInterval: .milliseconds(heartbeatMs),
      drainTimeout: .milliseconds(drainTimeoutMs))
    let descriptor = loaded.descriptor
    let runtime = try WorkerRuntime(model: loaded, configuration: configuration, logger: logger) {
      announce("worker ready service=\(descriptor.service) version=\(descriptor.version) name=\(configuration.name)")
    }
    try await runUntilSignalled(runtime, logger: logger)
  }
}
