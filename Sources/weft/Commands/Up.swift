import ArgumentParser
import Foundation
import Logging
import WeftConfiguration
import WeftGateway

/// `weft up`: a whole mesh on this machine from a config file, supervised.
struct Up: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Start a gateway and its workers from a config file; restart what crashes; stop all on Ctrl-C.",
    discussion: "SIGHUP makes the gateway read the config's routes again (workers are not changed).")

  @Option(help: "Mesh config file (YAML).")
  var config: String = "deploy/weft.yaml"
  @OptionGroup var logging: LoggingOptions

  func run() async throws {
    let logger = logging.bootstrap(label: "weft.up")
    // First run with a mesh key directory: its missing keys are made here, before any
    // child reads the file.
    let mesh = try MeshFile.load(path: config, creatingMeshKeys: true)
    if let keys = mesh.gateway.security?.meshKeys {
      logger.info("CURVE on both ports", metadata: ["keys": "\(keys.directory)"])
    }
    let supervisor = Supervisor(
      executable: try currentExecutable(), configPath: config, mesh: mesh, logLevel: logging.logLevel, logger: logger)
    try await whileHandlingHangups {
      supervisor.signalGateway(SIGHUP)  // it reads the config's routes again
    } _: {
      try await runUntilSignalled(supervisor, logger: logger)
    }
  }

  private func currentExecutable() throws -> String {
    let path = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    return path
  }
}
