import ArgumentParser
import Logging

/// `--log-level`, shared by the long-running commands.
struct LoggingOptions: ParsableArguments {
  @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
  var logLevel: Logger.Level = .info

  /// Sends logs to standard error at the chosen level; call once, from `run()`.
  func bootstrap(label: String) -> Logger {
    let level = logLevel
    LoggingSystem.bootstrap { name in
      var handler = StreamLogHandler.standardError(label: name)
      handler.logLevel = level
      return handler
    }
    return Logger(label: label)
  }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
