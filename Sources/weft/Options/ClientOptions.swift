import ArgumentParser

/// `--gateway` and `--timeout-ms`, shared by the commands that call a mesh.
struct ClientOptions: ParsableArguments {
  @Option(name: .customLong("gateway"), help: "Gateway frontend endpoint; repeat for several.")
  var gateways: [String] = ["tcp://127.0.0.1:5555"]

  @Option(help: "Deadline of the call in milliseconds.")
  var timeoutMs: Int = 30_000

  func validate() throws {
    guard timeoutMs > 0 else { throw ValidationError("--timeout-ms must be positive") }
  }
}
