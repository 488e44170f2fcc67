import ArgumentParser
import WeftProcess
import Foundation
import WeftGateway
import SwiftProtobuf
import WeftProtocol
import ZeroMQ

/// `weft-bench mesh`: the gateway against libzmq's `zmq_proxy`, measured in one run.
struct MeshBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mesh",
    abstract: "Measure round trips and throughput through a Weft gateway and through zmq_proxy.",
    discussion: """
      Starts, on loopback: a Weft gateway with an echo worker, and libzmq's zmq_proxy \
      (ROUTER/DEALER) with an echo peer. Both are driven by the same bare-DEALER client \
      with the same frames, each call its own message; at 64 B, both again with a client \
      that packs the calls it has ready (`WFP`, docs/PROTOCOL.md; the proxy's peer echoes \
      each pack whole). Each round measures every target, starting one target later \
      than the round before; medians are printed with the ratio Weft/zmq_proxy. The CPU \
      of the broker, its peer and the client, and the share of the cores left idle while \
      pipelining, are read from /proc.
      """)

  @OptionGroup var load: LoadOptions
  @Flag(help: "Also measure a second Weft gateway with CURVE on both ports (keys made for the run).")
  var curve = false
  @Flag(help: "Also measure a Weft gateway serving HTTP metrics, which records its duration histograms per request.")
  var http = false
  @Option(help: "The grpc-echo executable of the Benchmarks/ package (swift build -c release --package-path Benchmarks): also measure a grpc-swift-2 unary echo at 64 B.")
  var grpc: String?
  @Option(help: "Another weft executable (e.g. a build from before a change): also measure its gateway and echo worker in the same rounds, as a ratio to this build's.")
  var compareWeft: String?
  @Flag(help: "Only the 64 B measurements (for profiling the per-message path; skips 64 KiB).")
  var smallOnly = false
  @Flag(help: "Only the 64 KiB measurements (for the large-message path; skips 64 B and gRPC).")
  var largeOnly = false
  @OptionGroup var output: BenchReportOptions

  func validate() throws {
    guard !(smallOnly && largeOnly) else { throw ValidationError("--small-only and --large-only exclude each other") }
  }

  func run() async throws {
    let executable = try BenchMesh.executable()
    let echoWorker = ["worker", "--model", "echo", "--capacity", "100000", "--name", "bench-echo"]
    let mesh = try await BenchMesh.start(processes: [echoWorker])
    defer { mesh.stop() }
    let secured = curve ? try await CurveMesh.start(worker: echoWorker) : nil
    defer { secured?.stop() }
    let metered = http ? try await BenchMesh.start(processes: [echoWorker], gatewayArguments: ["--http", "127.0.0.1:0"]) : nil
    defer { metered?.stop() }
    let other: BenchMesh? = if let compareWeft { try await BenchMesh.start(processes: [echoWorker], weft: compareWeft) } else { nil }
    defer { other?.stop() }
    let proxy = Child(name: "proxy", arguments: ["bench-proxy"])
    try proxy.launch(executable: executable, readsAnnouncement: true)
    defer { proxy.signal(SIGKILL) }
    let proxyFrontend = try await proxy.waitForAnnouncement("frontend")
    let peer = Child(name: "peer", arguments: ["bench-echo-peer", "--connect", try await proxy.waitForAnnouncement("backend")])
    try peer.launch(executable: executable, readsAnnouncement: true)
    defer { peer.signal(SIGKILL) }
    _ = try await peer.waitForAnnouncement("connected")

    let zmq = Context.libraryVersion
    print("weft-bench: \(load.rounds) rounds, libzmq \(zmq.major).\(zmq.minor).\(zmq.patch), \(ProcessInfo.processInfo.activeProcessorCount) cores")
    let context = try Context()
    let figures = BenchReport()
    let started = MachineTicks()
    for size in smallOnly ? [64] : largeOnly ? [65_536] : [64, 65_536] {
      let large = size > 1_000
      let body = [UInt8](repeating: 0x5a, count: size)
      func target(_ name: String, _ mesh: BenchMesh, curve: CurveClientCredentials? = nil, packs: Bool = false) throws -> Target {
        Target(name: name, pid: mesh.gateway.pid, peerPID: mesh.worker.pid, generator: try LoadGenerator(
          context: context, endpoint: mesh.frontend, frames: [Signature.client, try echoRequestHeader(), body], checksWeftStatus: true,
          curve: curve, packs: packs))
      }
      func proxyTarget(_ name: String, packs: Bool) throws -> Target {
        Target(name: name, pid: proxy.pid, peerPID: peer.pid, generator: try LoadGenerator(
          context: context, endpoint: proxyFrontend, frames: [Signature.client, try echoRequestHeader(), body], checksWeftStatus: false,
          packs: packs))
      }
      var targets = [try proxyTarget("zmq_proxy", packs: false), try target("weft gateway", mesh)]
      if let secured { targets.append(try target("weft with CURVE", secured.mesh, curve: secured.client)) }
      if let metered { targets.append(try target("weft with --http", metered)) }
      if let other { targets.append(try target("other weft", other)) }
      // Both paths again with clients that pack what they send together (the proxy's echo
      // peer sends each pack back whole), at 64 B only: large messages are never packed.
      if !large { targets += [try proxyTarget(Self.packedProxy, packs: true), try target(Self.packedWeft, mesh, packs: true)] }
      for target in targets { _ = try target.generator.roundTrips(200) }  // warm up
      for round in 0..<load.rounds {
        // Each round starts at the next target: in a run of one build against itself, the
        // copy always measured last ran ~5% faster, so a fixed order biases the ratios.
        for offset in targets.indices {
          let target = targets[(round + offset) % targets.count]
          let samples = large ? load.latencySamples / 5 : load.latencySamples
          let start = (broker: ProcessUsage(pid: target.pid), peer: ProcessUsage(pid: target.peerPID))
          target.latencies.append(try target.generator.roundTrips(samples))
          // The end of the round trips is the start of the throughput phase.
          let between = (
            broker: ProcessUsage(pid: target.pid), peer: ProcessUsage(pid: target.peerPID), client: ProcessUsage(pid: getpid()),
            machine: MachineTicks())
          target.recordRoundTrips(broker: between.broker - start.broker, peer: between.peer - start.peer, count: samples)
          let total = large ? load.messages / 10 : load.messages
          target.throughputs.append(try target.generator.throughput(total: total, inFlight: large ? max(1, load.inFlight / 5) : load.inFlight))
          target.record(
            broker: ProcessUsage(pid: target.pid) - between.broker, peer: ProcessUsage(pid: target.peerPID) - between.peer,
            client: ProcessUsage(pid: getpid()) - between.client, idleShare: MachineTicks().idleShare(since: between.machine), messages: total)
        }
      }
      report(size: size, targets)
      record(size: size, targets, into: figures)
      if let grpc, size == 64 {
        try await compareWithGRPC(executable: grpc, weft: targets[1], packing: Self.packedPair(in: targets)?.weft, into: figures)
      }
      for target in targets.dropFirst() where target.generator.failedReplies > 0 {
        throw BenchError("\(target.generator.failedReplies) replies through \(target.name) were not OK")
      }
    }
    let steal = MachineTicks().stealShare(since: started)
    figures.add("mesh.host_steal_percent", unit: "%", better: .lower, rounds: [steal * 100])
    print(BenchFormat.hostStealLine([("", steal)], during: "during the run"))
    try figures.write(to: output.json)
  }

  /// A grpc-swift-2 unary echo server and its own client (64 in flight), `--rounds`
  /// times, beside the Weft gateway's figures of the same run.
  private func compareWithGRPC(executable: String, weft: Target, packing: Target?, into figures: BenchReport) async throws {
    let server = Child(name: "grpc-echo", arguments: ["serve", "--port", "0"])
    try server.launch(executable: executable, readsAnnouncement: true)
    defer { server.signal(SIGKILL) }
    let port = try await server.waitForAnnouncement("port")
    var p50: [Double] = [], p99: [Double] = [], rates: [Double] = [], cpu: [Double] = []
    let (samples, calls) = (max(1, load.latencySamples / 2), max(1, load.messages / 5))
    for _ in 0..<load.rounds {
      let before = cpuMicroseconds(pid: server.pid) ?? 0
      let data = try benchSubprocessOutput(
        "grpc-echo load", executable: executable,
        arguments: ["load", "--port", port, "--size", "64", "--latency-samples", "\(samples)", "--calls", "\(calls)", "--in-flight", "64"])
      let used = (cpuMicroseconds(pid: server.pid) ?? 0) - before
      guard let result = try JSONSerialization.jsonObject(with: data) as? [String: Double],
        let median = result["p50_us"], let tail = result["p99_us"], let rate = result["calls_per_s"]
      else { throw BenchError("grpc-echo load printed no figures") }
      p50.append(median)
      p99.append(tail)
      rates.append(rate)
      cpu.append(used / Double(samples + calls + 200))
    }
    let (grpcP50, grpcRate) = (BenchFormat.median(p50), BenchFormat.median(rates))
    print("")
    print("64 B unary echo     p50 µs    p99 µs    calls/s   server CPU µs/call")
    print("  grpc-swift-2   \(BenchFormat.column(grpcP50, 9))  \(BenchFormat.column(BenchFormat.median(p99), 8))  \(BenchFormat.column(grpcRate, 9))   \(BenchFormat.column(BenchFormat.median(cpu), 18, 2))")
    print("  weft gateway   \(BenchFormat.column(weft.p50, 9))  \(BenchFormat.column(weft.p99, 8))  \(BenchFormat.column(weft.throughput, 9))   \(BenchFormat.column(weft.cpu, 18, 2))")
    if let packing {
      print("  weft, packing  \(BenchFormat.column(packing.p50, 9))  \(BenchFormat.column(packing.p99, 8))  \(BenchFormat.column(packing.throughput, 9))   \(BenchFormat.column(packing.cpu, 18, 2))")
    }
    print("  grpc/weft p50 \(BenchFormat.column(grpcP50 / weft.p50, 8, 2))x   weft/grpc throughput \(BenchFormat.column(weft.throughput / grpcRate, 0, 1))x"
      + (packing.map { "   packing client \(BenchFormat.column($0.throughput / grpcRate, 0, 1))x" } ?? ""))
    print("  (gRPC: grpc-swift-2 2.4.3 over HTTP/2, its own client, 64 calls in flight; Weft: the bare DEALER clients above, 500 in flight)")
    figures.add("mesh.64B.grpc.p50_us", unit: "µs", better: .lower, rounds: p50)
    figures.add("mesh.64B.grpc.p99_us", unit: "µs", better: .lower, rounds: p99)
    figures.add("mesh.64B.grpc.throughput", unit: "calls/s", better: .higher, rounds: rates)
    figures.add("mesh.64B.grpc.server_cpu_us_per_call", unit: "µs", better: .lower, rounds: cpu)
    figures.add("mesh.64B.ratio.grpc_p50_over_weft", unit: "×", better: .higher, rounds: zip(p50, weft.p50Rounds).map { $0 / $1 })
    figures.add("mesh.64B.ratio.weft_throughput_over_grpc", unit: "×", better: .higher, rounds: zip(weft.throughputs, rates).map { $0 / $1 })
    if let packing {
      figures.add(
        "mesh.64B.ratio.packing_weft_throughput_over_grpc", unit: "×", better: .higher,
        rounds: zip(packing.throughputs, rates).map { $0 / $1 })
    }
  }

  /// The two targets whose clients pack what they send together.
  static let packedProxy = "proxy, packing"
  static let packedWeft = "weft, packing"

  /// The two packing targets among `targets`, if measured.
  private static func packedPair(in targets: [Target]) -> (proxy: Target, weft: Target)? {
    guard let proxy = targets.first(where: { $0.name == packedProxy }), let weft = targets.first(where: { $0.name == packedWeft }) else {
      return nil
    }
    return (proxy, weft)
  }

  /// Every target's figures per round, and the gateway's ratios to `zmq_proxy` round by round.
  private func record(size: Int, _ targets: [Target], into figures: BenchReport) {
    let prefix = "mesh.\(size == 64 ? "64B" : "64KiB")"
    for target in targets {
      let name = "\(prefix).\(target.name.replacingOccurrences(of: " ", with: "_"))"
      figures.add("\(name).p50_us", unit: "µs", better: .lower, rounds: target.p50Rounds)
      figures.add("\(name).p99_us", unit: "µs", better: .lower, rounds: target.p99Rounds)
      figures.add("\(name).throughput", unit: "msg/s", better: .higher, rounds: target.throughputs)
      figures.add("\(name).cpu_us_per_msg", unit: "µs", better: .lower, rounds: target.cpuPerMessage)
      figures.add("\(name).cpu_us_per_round_trip", unit: "µs", better: .lower, rounds: target.cpuPerRoundTrip)
      figures.add("\(name).peer_cpu_us_per_round_trip", unit: "µs", better: .lower, rounds: target.peerCPUPerRoundTrip)
      figures.add("\(name).peer_cpu_us_per_msg", unit: "µs", better: .lower, rounds: target.peerCPUPerMessage)
      figures.add("\(name).switches_per_msg", unit: "", better: .lower, rounds: target.switchesPerMessage)
      figures.add("\(name).peer_switches_per_msg", unit: "", better: .lower, rounds: target.peerSwitchesPerMessage)
      figures.add("\(name).client_cpu_us_per_msg", unit: "µs", better: .lower, rounds: target.clientCPUPerMessage)
      figures.add("\(name).idle_share", unit: "", better: .lower, rounds: target.idleShares)
    }
    let (proxy, weft) = (targets[0], targets[1])
    func ratio(_ ours: [Double], _ theirs: [Double]) -> [Double] { zip(ours, theirs).map { $0 / $1 } }
    figures.add("\(prefix).ratio.throughput", unit: "×", better: .higher, rounds: ratio(weft.throughputs, proxy.throughputs))
    figures.add(
      "\(prefix).ratio.p50", unit: "×", better: .lower, rounds: ratio(weft.p50Rounds, proxy.p50Rounds))
    figures.add("\(prefix).ratio.cpu_per_msg", unit: "×", better: .lower, rounds: ratio(weft.cpuPerMessage, proxy.cpuPerMessage))
    figures.add("\(prefix).ratio.peer_cpu_per_msg", unit: "×", better: .lower, rounds: ratio(weft.peerCPUPerMessage, proxy.peerCPUPerMessage))
    if let (packedProxy, packedWeft) = Self.packedPair(in: targets) {
      figures.add("\(prefix).ratio.packing_throughput", unit: "×", better: .higher, rounds: ratio(packedWeft.throughputs, packedProxy.throughputs))
      figures.add("\(prefix).ratio.packing_over_plain_throughput", unit: "×", better: .higher, rounds: ratio(packedWeft.throughputs, weft.throughputs))
      figures.add("\(prefix).ratio.packing_cpu_per_msg", unit: "×", better: .lower, rounds: ratio(packedWeft.cpuPerMessage, packedProxy.cpuPerMessage))
    }
  }

  private func report(size: Int, _ targets: [Target]) {
    print("")
    print("\(size == 64 ? "64 B" : "64 KiB") echo          p50 µs    p99 µs      msg/s   CPU µs/msg: broker    echo peer")
    for target in targets {
      print(
        "  \(target.name.padding(toLength: 16, withPad: " ", startingAt: 0))"
          + "\(BenchFormat.column(target.p50, 8))  \(BenchFormat.column(target.p99, 8))  \(BenchFormat.column(target.throughput, 9))   \(BenchFormat.column(target.cpu, 18, 2))"
          + "  \(BenchFormat.column(target.peerCPU, 11, 2))")
    }
    let (baseline, weft) = (targets[0], targets[1])
    print(
      "  ratio weft/proxy  \(BenchFormat.column(weft.p50 / baseline.p50, 7, 2))x \(BenchFormat.column(weft.p99 / baseline.p99, 8, 2))x"
        + "  \(BenchFormat.column(weft.throughput / baseline.throughput, 8, 2))x   \(BenchFormat.column(weft.cpu / baseline.cpu, 17, 2))x"
        + "  \(BenchFormat.column(weft.peerCPU / baseline.peerCPU, 10, 2))x")
    print("  context switches per message (all threads; throughput phase): "
      + targets.map { "\($0.name) \(BenchFormat.column(BenchFormat.median($0.switchesPerMessage), 0, 3)) + peer \(BenchFormat.column(BenchFormat.median($0.peerSwitchesPerMessage), 0, 3))" }
      .joined(separator: ", "))
    print("  throughput phase, client CPU µs per message and idle share of the cores: "
      + targets.map { "\($0.name) \(BenchFormat.column(BenchFormat.median($0.clientCPUPerMessage), 0, 2)), \(BenchFormat.column(BenchFormat.median($0.idleShares) * 100, 0, 0))%" }
      .joined(separator: "; "))
    print("  CPU µs per round trip (latency phase, one in flight): "
      + targets.map { "\($0.name) \(BenchFormat.column(BenchFormat.median($0.cpuPerRoundTrip), 0, 1)) + peer \(BenchFormat.column(BenchFormat.median($0.peerCPUPerRoundTrip), 0, 1))" }
      .joined(separator: ", "))
    // Each variant of the gateway against the plain one, measured in the same rounds.
    for variant in targets.dropFirst(2) where variant.name != Self.packedProxy && variant.name != Self.packedWeft {
      print(
        "  ratio to weft     \(BenchFormat.column(variant.p50 / weft.p50, 7, 2))x \(BenchFormat.column(variant.p99 / weft.p99, 8, 2))x"
          + "  \(BenchFormat.column(variant.throughput / weft.throughput, 8, 2))x   \(BenchFormat.column(variant.cpu / weft.cpu, 17, 2))x"
          + "  \(BenchFormat.column(variant.peerCPU / weft.peerCPU, 10, 2))x   (\(variant.name))")
    }
    if let (packedProxy, packedWeft) = Self.packedPair(in: targets) {
      print(
        "  ratio packing     \(BenchFormat.column(packedWeft.p50 / packedProxy.p50, 7, 2))x \(BenchFormat.column(packedWeft.p99 / packedProxy.p99, 8, 2))x"
          + "  \(BenchFormat.column(packedWeft.throughput / packedProxy.throughput, 8, 2))x   \(BenchFormat.column(packedWeft.cpu / packedProxy.cpu, 17, 2))x"
          + "  \(BenchFormat.column(packedWeft.peerCPU / packedProxy.peerCPU, 10, 2))x   (weft/proxy, both clients packing; packing weft/plain weft throughput "
          + "\(BenchFormat.column(packedWeft.throughput / weft.throughput, 0, 2))x)")
    }
  }

}

/// One path under test and what was measured on it.
private final class Target {
  let name: String
  let pid: Int32
  let peerPID: Int32
  let generator: LoadGenerator
  var latencies: [[Double]] = []
  var throughputs: [Double] = []
  var cpuPerMessage: [Double] = []
  var peerCPUPerMessage: [Double] = []
  var switchesPerMessage: [Double] = []
  var peerSwitchesPerMessage: [Double] = []
  /// The load generator's CPU per message in the throughput phase (the benchmark's process,
  /// libzmq's I/O thread included): the same client's cost depends on how the path hands
  /// it replies (how often its threads sleep and wake).
  var clientCPUPerMessage: [Double] = []
  /// The share of both cores left idle in the throughput phase: a path whose threads wait on
  /// each other leaves cores idle that the others' threads keep busy.
  var idleShares: [Double] = []
  /// CPU of the broker and its peer per round trip in the latency phase (one in flight),
  /// where a broker that polls before sleeping spends what it saves in wake-ups.
  var cpuPerRoundTrip: [Double] = []
  var peerCPUPerRoundTrip: [Double] = []

  /// Records what the broker and its peer used for `count` round trips one at a time.
  func recordRoundTrips(broker: ProcessUsage, peer: ProcessUsage, count: Int) {
    cpuPerRoundTrip.append(broker.cpuMicroseconds / Double(count))
    peerCPUPerRoundTrip.append(peer.cpuMicroseconds / Double(count))
  }

  /// Records what the broker, its peer and the client used for `messages` messages, per
  /// message, and the share of the machine's CPU time left idle meanwhile.
  func record(broker: ProcessUsage, peer: ProcessUsage, client: ProcessUsage, idleShare: Double, messages: Int) {
    let count = Double(messages)
    clientCPUPerMessage.append(client.cpuMicroseconds / count)
    idleShares.append(idleShare)
    cpuPerMessage.append(broker.cpuMicroseconds / count)
    peerCPUPerMessage.append(peer.cpuMicroseconds / count)
    switchesPerMessage.append(broker.contextSwitches / count)
    peerSwitchesPerMessage.append(peer.contextSwitches / count)
  }

  init(name: String, pid: Int32, peerPID: Int32, generator: LoadGenerator) {
    self.name = name
    self.pid = pid
    self.peerPID = peerPID
    self.generator = generator
  }

  /// Each round's p50 and p99 (each round's latencies are sorted).
  var p50Rounds: [Double] { latencies.map { BenchFormat.percentile($0, 50) } }
  var p99Rounds: [Double] { latencies.map { BenchFormat.percentile($0, 99) } }
  var p50: Double { BenchFormat.median(p50Rounds) }
  var p99: Double { BenchFormat.median(p99Rounds) }
  var throughput: Double { BenchFormat.median(throughputs) }
  var cpu: Double { BenchFormat.median(cpuPerMessage) }
  var peerCPU: Double { BenchFormat.median(peerCPUPerMessage) }
}

/// A gateway and an echo worker with CURVE on both ports, keys made for the run in a
/// temporary directory removed by ``stop()``.
struct CurveMesh {
  let mesh: BenchMesh
  /// The load generator's credentials (an admin key).
  let client: CurveClientCredentials
  let directory: URL

  static func start(worker: [String]) async throws -> CurveMesh {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-bench-keys-\(getpid())")
    let gateway = try CurveKeyFiles.generate(in: directory.path, name: "gateway")
    let admin = try CurveKeyFiles.generate(in: directory.appendingPathComponent("admins").path, name: "bench")
    let echo = try CurveKeyFiles.generate(in: directory.appendingPathComponent("workers").path, name: "echo")
    let config = directory.appendingPathComponent("mesh.yaml").path
    try """
      gateway:
        curve:
          secret_key: \(gateway.secretKey)
          admins: \(directory.path)/admins
          workers: \(directory.path)/workers
      """.write(toFile: config, atomically: true, encoding: .utf8)
    let client = try CurveKeyFiles.credentials(gatewayKey: gateway.publicKey, secretKey: admin.secretKey)
    let mesh = try await BenchMesh.start(
      processes: [worker + ["--gateway-key", gateway.publicKey, "--key", echo.secretKey]], gatewayArguments: ["--config", config],
      curve: client)
    return CurveMesh(mesh: mesh, client: client, directory: directory)
  }

  func stop() {
    mesh.stop()
    try? FileManager.default.removeItem(at: directory)
  }
}
