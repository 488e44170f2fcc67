import ArgumentParser
import WeftModels
import WeftProcess
import WeftProtocol

/// The `weft` command: runs and talks to a Weft mesh.
@main
struct Weft: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "weft",
    abstract: "Serve ML models over ZeroMQ: gateway, workers and clients.",
    version: WeftVersion.current,
    subcommands: [
      Up.self, GatewayCommand.self, WorkerCommand.self, RecommenderCommand.self, Call.self, Status.self, RouteCommand.self,
      ConfigCommand.self, KeysCommand.self,
    ]
  )

  static func main() async {
    // Before anything else: OpenBLAS may have taken this CPU for an old one (BLASCore).
    BLASCore.restartWithBetterKernelsIfNeeded()
    HeapRetention.apply()
    await mainIgnoringBrokenPipes()
  }
}
