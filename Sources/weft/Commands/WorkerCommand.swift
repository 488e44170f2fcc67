import ArgumentParser
import Logging
import WeftConfiguration
import WeftModels
import WeftProcess
import WeftWorker

/// `weft worker`: hosts one model until SIGTERM (drains) or SIGINT.
struct WorkerCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "worker", abstract: "Host one model behind one or more gateways.")

  @OptionGroup var model: ModelOptions
  @OptionGroup var link: WorkerLinkOptions
  @OptionGroup var readiness: ReadinessOptions
  @OptionGroup var logging: LoggingOptions

  func run() async throws {
    let logger = logging.bootstrap(label: "weft.worker")
    exitWithParentIfSupervised()
    var section = try model.section()
    try link.apply(to: &section.link)
    let loaded = try section.makeModel()
    let configuration = section.link
    let descriptor = loaded.descriptor
    let runtime = try WorkerRuntime(model: loaded, configuration: configuration, logger: logger) {
      readiness.markReady()
      announce("worker ready service=\(descriptor.service) version=\(descriptor.version) name=\(configuration.name) openblas=\(BLASCore.current)")
    } onDrain: {
      readiness.markNotReady()
    }
    defer { readiness.markNotReady() }
    try await runUntilSignalled(runtime, logger: logger)
  }
}
