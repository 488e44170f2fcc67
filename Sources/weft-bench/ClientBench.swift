import ArgumentParser
import Foundation
import WeftProtocol
import WeftClient

#if canImport(Glibc)
import Glibc
#endif

/// `weft-bench clients`: the Swift, C and Python clients through one gateway, in one run.
struct ClientBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "clients",
    abstract: "Round trips and throughput from the Swift, C and Python clients through one gateway.",
    discussion: """
      Starts a gateway and an echo worker on loopback, then measures 64-byte echo calls \
      from: the Swift client; clients/c's weft-c-bench, which also measures a bare \
      baseline (a DEALER socket with protobuf-c encoding and decoding, nothing else); and \
      clients/python's bench.py (blocking and asyncio). Build the C client and the Python \
      environment first with scripts/setup-clients.sh.
      """)

  @Option(help: "Sequential round trips per latency measurement.")
  var roundTrips = 4_000
  @Option(help: "Requests per throughput measurement (the Python client gets a fifth).")
  var messages = 50_000
  @Option(help: "Requests kept in flight for throughput.")
  var inFlight = 64
  @Option(help: "A Python with the client's dependencies.")
  var python = benchRepositoryRoot + "/.build-python/venv/bin/python"

  /// One client path's figures.
  struct Figures: Decodable {
    let path: String
    let p50_us: Double
    let p99_us: Double
    let per_second: Double
    let cpu_us_per_message: Double
    let failures: Int
  }

  func run() async throws {
    let mesh = try await BenchMesh.start(worker: ["--model", "echo", "--capacity", "100000"])
    defer { mesh.stop() }
    let frontend = mesh.frontend

    print("weft-bench clients: 64 B echo through one gateway, \(inFlight) in flight for throughput")
    var rows = [try await swiftFigures(frontend)]
    rows += try external(benchRepositoryRoot + "/clients/c/build/weft-c-bench",
                         ["-g", frontend, "-n", "\(roundTrips)", "-m", "\(messages)", "-w", "\(inFlight)"], environment: [:])
    rows += try external(python, [benchRepositoryRoot + "/clients/python/bench/bench.py", frontend, "\(roundTrips / 2)",
                                  "\(messages / 5)", "\(inFlight)"],
                         environment: ["PYTHONPATH": benchRepositoryRoot + "/clients/python"])
    print("")
    print("client               p50 µs    p99 µs      msg/s   client CPU µs/msg")
    for row in rows {
      print(row.path.padding(toLength: 18, withPad: " ", startingAt: 0) + BenchFormat.column(row.p50_us, 9)
            + BenchFormat.column(row.p99_us, 10) + BenchFormat.column(row.per_second, 11) + BenchFormat.column(row.cpu_us_per_message, 20, 2))
    }
    if let raw = rows.first(where: { $0.path == "c raw" }), let c = rows.first(where: { $0.path == "c weft-client" }) {
      print("c weft-client / raw: CPU per message \(BenchFormat.column(c.cpu_us_per_message / raw.cpu_us_per_message, 0, 2))x,"
            + " throughput \(BenchFormat.column(c.per_second / raw.per_second, 0, 2))x, p50 \(BenchFormat.column(c.p50_us / raw.p50_us, 0, 2))x")
    }
    let failures = rows.reduce(0) { $0 + $1.failures }
    if failures > 0 { throw BenchError("\(failures) replies were not OK") }
  }

  private func swiftFigures(_ frontend: String) async throws -> Figures {
    let client = try WeftClient(gateways: [frontend])
    defer { client.close() }
    let body = [Data(repeating: 0x78, count: 64)]
    for _ in 0..<200 { _ = try await client.call(EchoService.echo.service, EchoService.echo.name, body: body) }
    var samples: [Double] = []
    for _ in 0..<roundTrips {
      let start = ContinuousClock.now
      _ = try await client.call(EchoService.echo.service, EchoService.echo.name, body: body)
      samples.append((ContinuousClock.now - start).seconds * 1e6)
    }
    samples.sort()
    let lanes = inFlight, perLane = messages / inFlight
    let cpuBefore = (cpuMicroseconds(pid: getpid()) ?? 0)
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<lanes {
        group.addTask { for _ in 0..<perLane { _ = try await client.call(EchoService.echo.service, EchoService.echo.name, body: body) } }
      }
      try await group.waitForAll()
    }
    let elapsed = (ContinuousClock.now - start).seconds
    let done = Double(lanes * perLane)
    return Figures(
      path: "swift", p50_us: BenchFormat.percentile(samples, 50), p99_us: BenchFormat.percentile(samples, 99), per_second: done / elapsed,
      cpu_us_per_message: ((cpuMicroseconds(pid: getpid()) ?? 0) - cpuBefore) / done, failures: 0)
  }

  /// Runs a client's own bench program and reads its JSON lines.
  private func external(_ program: String, _ arguments: [String], environment: [String: String]) throws -> [Figures] {
    guard FileManager.default.isExecutableFile(atPath: program) else {
      throw BenchError("\(program) is missing: run scripts/setup-clients.sh first")
    }
    let data = try benchSubprocessOutput(program, executable: program, arguments: arguments, environment: environment)
    return try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
      try JSONDecoder().decode(Figures.self, from: Data($0.utf8))
    }
  }
}
