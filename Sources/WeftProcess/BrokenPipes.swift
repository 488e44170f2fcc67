import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

extension AsyncParsableCommand {
  /// Runs the command tree as the process's `main`, with SIGPIPE ignored before any
  /// command runs: a write to a child's pipe after the child exited (a supervised
  /// process, a benchmark's baseline) must be an error the command handles, not the end
  /// of the process. ZeroMQ's own sockets never raise it.
  public static func mainIgnoringBrokenPipes() async {
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
