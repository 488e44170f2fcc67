import ArgumentParser

/// The `weft` command: runs and talks to a Weft mesh.
@main
struct Weft: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "weft",
    abstract: "Serve ML models over ZeroMQ: gateway, workers and clients.",
    version: "0.1.0",
    subcommands: [
      Up.self, GatewayCommand.self, WorkerCommand.self, Call.self, Status.self, Bench.self,
      BenchProxy.self, BenchEchoPeer.self,
    ]
  )
}
