import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// The `weft` command: runs and talks to a Weft mesh.
@main
struct Weft: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "weft",
    abstract: "Serve ML models over ZeroMQ: gateway, workers and clients.",
    version: "0.1.0",
    subcommands: [
      Up.self, GatewayCommand.self, WorkerCommand.self, RecommenderCommand.self, Call.self, Status.self, RouteCommand.self,
      ConfigCommand.self,
    ]
  )

  /// Ignores SIGPIPE before any command runs: a write to a child's pipe after the child
  /// exited (a supervised process) must be an error the command
  /// handles, not the end of the process. ZeroMQ's own sockets never raise it.
  static func main() async {
    signal(SIGPIPE, SIG_IGN)
    do {
      var command = try parseAsRoot()
      if var asyncCommand = command as? any AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch {
      exit(withError: error)
    }
  }
}
