import ArgumentParser
import SwiftProtobuf
import WeftProtocol

/// Rounds, latency samples and throughput load, shared by the benches that drive a
/// gateway from a bare DEALER (`weft-bench mesh`, `weft-bench routing`).
struct LoadOptions: ParsableArguments {
  @Option(help: "Rounds; medians over them are reported.")
  var rounds = 3
  @Option(help: "Round trips per latency measurement (mesh: a fifth of it at 64 KiB).")
  var latencySamples = 4_000
  @Option(help: "Requests per throughput measurement (mesh: a tenth of it at 64 KiB).")
  var messages = 100_000
  @Option(help: "Requests kept in flight for throughput (mesh: a fifth of it at 64 KiB).")
  var inFlight = 500

  func validate() throws {
    guard rounds > 0, latencySamples > 0, messages > 0, inFlight > 0 else {
      throw ValidationError("every count must be positive")
    }
  }
}

/// The request header of an idempotent `echo.echo` call with a 30 s deadline, for a
/// user and a version if given.
func echoRequestHeader(user: String = "", version: String = "") throws -> [UInt8] {
  try requestHeader(service: EchoService.echo.service, method: EchoService.echo.name, user: user, version: version)
}

/// The request header of an idempotent call of `service.method` with a 30 s deadline,
/// for a user and a version if given.
func requestHeader(service: String, method: String, user: String = "", version: String = "") throws -> [UInt8] {
  var header = RequestHeader()
  header.requestID = 1
  header.service = service
  header.method = method
  header.timeoutMs = 30_000
  header.idempotent = true
  header.userID = user
  header.version = version
  return try header.serializedBytes()
}
