import ArgumentParser
import Foundation
import Synchronization
import WeftClient
import WeftProtocol
import WeftProcess

#if canImport(Glibc)
import Glibc
#endif

/// `weft-bench serving`: MiniLM served by Weft over HTTP (the Open Inference Protocol) and
/// over ZeroMQ, against Ray Serve and LitServe serving the same weights with
/// sentence-transformers, by one load generator, one short sentence per request.
struct ServingBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serving",
    abstract: "MiniLM over HTTP and ZeroMQ against Ray Serve and LitServe: requests/s, p50 and p99 by requests in flight.",
    discussion: """
      Each server runs alone on this machine in turn, with requests batched up to 32 (Weft's \
      worker with a 5 ms delay, @serve.batch and LitServe with 5 ms timeouts). The load is \
      closed-loop: N connections (HTTP) or N concurrent calls (ZeroMQ), each sending the next \
      request when its answer is in. --python names a Python with ray[serve], litserve, \
      sentence-transformers and matplotlib (Benchmarks/serving/setup-peers.sh makes one); \
      without it only Weft is measured. Results go to --output as JSON, and as a PNG plot \
      when matplotlib is there.
      """)

  @Option(help: "A Python with the peers installed (Benchmarks/serving/setup-peers.sh).")
  var python: String?
  @Option(help: "Requests in flight to measure, comma-separated.")
  var inFlight = "1,4,8,16,32"
  @Option(help: "Seconds measured per point, after a warm-up of a quarter of it.")
  var seconds = 8.0
  @Option(help: "torch threads for the peers (Weft's text worker runs one lane per core).")
  var threads = ProcessInfo.processInfo.activeProcessorCount
  @Option(help: "Where Weft's weights are (default $WEFT_MODELS, else ~/.cache/weft/models).")
  var models: String?
  @Option(help: "MiniLM in sentence-transformers' layout, for the peers.")
  var peerModel = benchRepositoryRoot + "/.build-peers/minilm"
  @Option(help: "Path prefix of the results: PREFIX.json and PREFIX.png.")
  var output = benchRepositoryRoot + "/docs/benchmarks/serving"

  /// One measured point.
  struct Point: Codable {
    let in_flight: Int
    let rps: Double
    let p50_ms: Double
    let p99_ms: Double
    let failures: Int
  }

  func run() async throws {
    let levels = inFlight.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }
    guard !levels.isEmpty else { throw ValidationError("--in-flight needs at least one positive count") }
    print("weft-bench serving: MiniLM, one short sentence per request, \(seconds) s per point, peers on \(threads) torch threads")
    var results: [(name: String, points: [Point])] = []

    let weft = try await weftTargets(levels)
    results += weft
    if let python {
      for peer in Peer.all {
        do {
          results.append((peer.name, try await measure(peer, python: python, levels)))
        } catch {
          print("\(peer.name): not measured (\(error))")
        }
      }
    }
    report(results, levels)
    try save(results)
  }

  // MARK: Weft

  private func weftTargets(_ levels: [Int]) async throws -> [(name: String, points: [Point])] {
    let worker = ["worker", "--model", "text", "--max-batch-size", "32", "--max-batch-delay-ms", "5", "--capacity", "64"]
      + (models.map { ["--models", $0] } ?? [])
    let mesh = try await BenchMesh.start(processes: [worker], gatewayArguments: ["--http", "127.0.0.1:0", "--queue-limit", "10000"])
    defer { mesh.stop() }
    let address = try await mesh.gateway.waitForAnnouncement("address")
    let (host, port) = try Self.split(address)
    let client = try WeftClient(gateways: [mesh.frontend])
    defer { client.close() }

    var zeroMQ: [Point] = []
    var json: [Point] = []
    var binary: [Point] = []
    let jsonBodies = Self.sentences.map { Array(Self.inferBody($0, binaryOutput: false).utf8) }
    let binaryBodies = Self.sentences.map { Array(Self.inferBody($0, binaryOutput: true).utf8) }
    for level in levels {
      zeroMQ.append(try await Self.zeroMQPoint(client, inFlight: level, seconds: seconds))
      json.append(try point(HTTPLoad(host: host, port: port, path: "/v2/models/text/infer", bodies: jsonBodies), level))
      binary.append(try point(HTTPLoad(host: host, port: port, path: "/v2/models/text/infer", bodies: binaryBodies), level))
      print("  weft, \(level) in flight: zmq \(Int(zeroMQ.last!.rps))/s, http \(Int(json.last!.rps))/s, http binary \(Int(binary.last!.rps))/s")
    }
    return [("weft zmq", zeroMQ), ("weft http", json), ("weft http binary", binary)]
  }

  /// N tasks, each calling `text/embed` again as soon as its answer is in.
  private static func zeroMQPoint(_ client: WeftClient, inFlight: Int, seconds: Double) async throws -> Point {
    let warmUp = UInt64(seconds * 250_000)
    let start = MonotonicClock.now()
    let (measureFrom, stopAt) = (start + warmUp, start + warmUp + UInt64(seconds * 1e6))
    let outcome = try await withThrowingTaskGroup(of: ([Double], Int).self) { group in
      for task in 0..<inFlight {
        group.addTask {
          var latencies: [Double] = []
          var failures = 0
          var turn = task
          while true {
            let sentAt = MonotonicClock.now()
            if sentAt >= stopAt { break }
            let ok = (try? await client.embed([sentences[turn % sentences.count]], options: CallOptions(timeout: .seconds(30)))) != nil
            turn += inFlight
            guard sentAt >= measureFrom else { continue }
            latencies.append(Double(MonotonicClock.now() - sentAt))
            if !ok { failures += 1 }
          }
          return (latencies, failures)
        }
      }
      var all: ([Double], Int) = ([], 0)
      for try await (latencies, failures) in group {
        all.0 += latencies
        all.1 += failures
      }
      return all
    }
    return Self.point(inFlight: inFlight, latencies: outcome.0.sorted(), failures: outcome.1, seconds: seconds)
  }

  // MARK: Peers

  /// A Python server measured against Weft.
  struct Peer {
    let name: String
    let script: String
    let path: String
    static let all = [
      Peer(name: "ray serve", script: "serving/ray_serve_minilm.py", path: "/embed"),
      Peer(name: "litserve", script: "serving/litserve_minilm.py", path: "/predict"),
    ]
  }

  private func measure(_ peer: Peer, python: String, _ levels: [Int]) async throws -> [Point] {
    let port = try Self.freePort()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [benchRepositoryRoot + "/Benchmarks/" + peer.script, peerModel, "\(port)", "\(threads)"]
    process.environment = ProcessInfo.processInfo.environment.merging(
      ["HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "RAY_USAGE_STATS_ENABLED": "0", "TOKENIZERS_PARALLELISM": "false"]) { $1 }
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    defer {
      // SIGINT lets the server shut down its workers; one that is still there after 10 s is killed.
      kill(process.processIdentifier, SIGINT)
      let deadline = Date().addingTimeInterval(10)
      while process.isRunning && Date() < deadline { usleep(50_000) }
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
      process.waitUntilExit()
      if peer.name == "ray serve" {
        _ = try? benchSubprocessOutput(
          "ray stop", executable: (python as NSString).deletingLastPathComponent + "/ray", arguments: ["stop", "--force"], discardingErrors: true)
      }
    }
    let bodies = Self.sentences.map { Array(#"{"text":\#(Self.jsonString($0))}"#.utf8) }
    let load = HTTPLoad(host: "127.0.0.1", port: port, path: peer.path, bodies: bodies)
    try await Self.waitUntilServing(load, process: process, name: peer.name)
    var points: [Point] = []
    for level in levels {
      points.append(try point(load, level))
      print("  \(peer.name), \(level) in flight: \(Int(points.last!.rps))/s")
    }
    return points
  }

  /// Polls with one request a second until the server answers 200, up to 3 minutes
  /// (Ray starts a cluster, both load torch).
  private static func waitUntilServing(_ load: HTTPLoad, process: Process, name: String) async throws {
    let deadline = ContinuousClock.now + .seconds(180)
    while ContinuousClock.now < deadline {
      guard process.isRunning else { throw BenchError("\(name) exited (status \(process.terminationStatus))") }
      if let connection = try? Connection(host: load.host, port: load.port) {
        defer { connection.close() }
        if (try? load.exchangeOnce(on: connection)) == 200 { return }
      }
      try await Task.sleep(for: .seconds(1))
    }
    throw BenchError("\(name) did not answer within 3 minutes")
  }

  // MARK: Measuring and reporting

  private func point(_ load: HTTPLoad, _ inFlight: Int) throws -> Point {
    let outcome = try load.run(inFlight: inFlight, warmUp: .seconds(seconds / 4), duration: .seconds(seconds))
    return Self.point(inFlight: inFlight, latencies: outcome.latencies, failures: outcome.failures, seconds: seconds)
  }

  private static func point(inFlight: Int, latencies: [Double], failures: Int, seconds: Double) -> Point {
    func percentile(_ p: Double) -> Double {
      latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] / 1_000
    }
    return Point(in_flight: inFlight, rps: Double(latencies.count) / seconds, p50_ms: percentile(0.5), p99_ms: percentile(0.99), failures: failures)
  }

  private func report(_ results: [(name: String, points: [Point])], _ levels: [Int]) {
    print("")
    print("target               in flight     req/s    p50 ms    p99 ms  failures")
    for (name, points) in results {
      for point in points {
        print(
          name.padding(toLength: 20, withPad: " ", startingAt: 0) + BenchFormat.column(Double(point.in_flight), 10)
            + BenchFormat.column(point.rps, 10) + BenchFormat.column(point.p50_ms, 10, 1) + BenchFormat.column(point.p99_ms, 10, 1)
            + BenchFormat.column(Double(point.failures), 10))
      }
    }
    guard let top = levels.max() else { return }
    func at(_ name: String) -> Point? { results.first { $0.name == name }?.points.first { $0.in_flight == top } }
    print("")
    if let http = at("weft http"), let zmq = at("weft zmq") {
      print("at \(top) in flight: weft http / weft zmq throughput \(String(format: "%.2f", http.rps / zmq.rps))x")
    }
    for peer in Peer.all {
      guard let http = at("weft http"), let theirs = at(peer.name) else { continue }
      print(
        "at \(top) in flight: weft http / \(peer.name) throughput \(String(format: "%.2f", http.rps / theirs.rps))x, "
          + "p99 \(String(format: "%.1f", http.p99_ms)) vs \(String(format: "%.1f", theirs.p99_ms)) ms")
    }
  }

  private func save(_ results: [(name: String, points: [Point])]) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    struct File: Encodable {
      let command: String
      let date: String
      let targets: [String: [Point]]
    }
    let file = File(
      command: CommandLine.arguments.joined(separator: " "), date: ISO8601DateFormatter().string(from: Date()),
      targets: Dictionary(uniqueKeysWithValues: results.map { ($0.name, $0.points) }))
    try FileManager.default.createDirectory(atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try encoder.encode(file).write(to: URL(fileURLWithPath: output + ".json"))
    print("results: \(output).json")
    guard let python else { return }
    do {
      _ = try benchSubprocessOutput(
        "the plot", executable: python, arguments: [benchRepositoryRoot + "/Benchmarks/serving/plot_serving.py", output + ".json", output + ".png"])
      print("plot: \(output).png")
    } catch {
      print("no plot: \(error)")
    }
  }

  // MARK: Requests

  /// Short sentences, one per request, taken in turn.
  static let sentences: [String] = {
    let subjects = ["A man", "The cat", "My neighbour", "A small child", "The old train", "Our team", "A red car", "The chef"]
    let actions = ["is eating food.", "sleeps in the sun.", "reads a long book.", "crosses the bridge.", "waits at the station.",
                   "plays the piano.", "paints the fence.", "writes a letter."]
    return subjects.flatMap { subject in actions.map { "\(subject) \($0)" } }
  }()

  private static func inferBody(_ sentence: String, binaryOutput: Bool) -> String {
    let parameters = binaryOutput ? #","parameters":{"binary_data_output":true}"# : ""
    return #"{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":[\#(jsonString(sentence))]}]\#(parameters)}"#
  }

  /// `text` as a JSON string literal.
  private static func jsonString(_ text: String) -> String {
    String(decoding: (try? JSONEncoder().encode(text)) ?? Data(#""""#.utf8), as: UTF8.self)
  }

  private static func split(_ address: String) throws -> (String, UInt16) {
    guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
      throw BenchError("not host:port: \(address)")
    }
    return (String(address[..<colon]), port)
  }

  /// A loopback TCP port nothing listens on now.
  private static func freePort() throws -> UInt16 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { Glibc.close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
    }
    guard bound else { throw BenchError("no free port: errno \(errno)") }
    return UInt16(bigEndian: address.sin_port)
  }
}

extension HTTPLoad {
  /// Sends the first body once on `connection`; returns the status.
  func exchangeOnce(on connection: Connection) throws -> Int { try connection.exchange(requestBytes(bodies[0])) }
}
