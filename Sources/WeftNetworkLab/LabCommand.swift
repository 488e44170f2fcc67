import Foundation
import WeftProcess

/// Runs the system tools the lab is built with (`ip`, `nft`, PostgreSQL's `initdb`, …).
enum LabCommand {
  /// Runs a tool to completion (at most `timeout`); throws with its stderr if it fails.
  @discardableResult
  static func output(_ tool: String, _ arguments: String..., input: String? = nil) throws -> String {
    try output(tool, arguments, input: input)
  }

  static func run(_ tool: String, _ arguments: String..., input: String? = nil) throws {
    _ = try output(tool, arguments, input: input)
  }

  static func output(_ tool: String, _ arguments: [String], input: String? = nil, timeout: TimeInterval = 10) throws -> String {
    let process = try SpawnedProcess(
      executable: tool, arguments: arguments, environment: ProcessInfo.processInfo.environment,
      input: input == nil ? .null : .pipe, output: .pipe, error: .pipe)
    if let input, let writer = process.input {
      writer.write(Data(input.utf8))
      try? writer.close()
    }
    // The tools print far less than a pipe holds, so they finish before their output is read.
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(1_000) }
    guard let status = process.terminationStatus else {
      process.signal(SIGKILL)
      throw LabError("\(tool) \(arguments.joined(separator: " ")) did not finish in \(Int(timeout)) s")
    }
    let printed = String(decoding: process.output!.readDataToEndOfFile(), as: UTF8.self)
    let why = String(decoding: process.error!.readDataToEndOfFile(), as: UTF8.self)
    guard status == 0 else { throw LabError("\(tool) \(arguments.joined(separator: " ")) failed (\(status)): \(why)") }
    return printed
  }
}
