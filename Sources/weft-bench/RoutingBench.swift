import ArgumentParser
import Foundation
import WeftProcess
import SwiftProtobuf
import WeftClient
import WeftGateway
import WeftProtocol
import ZeroMQ

/// `weft-bench routing`: what version routing costs the gateway, measured in one run.
struct RoutingBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "routing",
    abstract: "Measure gateway throughput, p50 and CPU per message with and without version routing policies.",
    discussion: """
      Starts a gateway with four echo workers, versions a, b, c and d, and drives it from \
      one bare DEALER. Each round measures, in turn: requests naming version a (no policy \
      decision: the baseline), a policy sending everything to a, a 3-version split \
      (a=50 b=30 c=20), the split with sticky user ids (1,024 users), the split with 10% \
      shadow traffic to d, and no policy (least loaded over all four workers). Medians \
      over the rounds are printed with the ratio to the baseline; each round starts with \
      the next set-up, so order effects spread evenly.

      Gateway CPU per request isolates what routing costs the gateway; throughput on a \
      small machine also moves with how many worker processes share its cores. Last, the \
      routing decision itself is timed in process and set against the CPU per request.
      """)

  @OptionGroup var load: LoadOptions

  /// One routing set-up under test.
  private struct Setup {
    enum Header { case named, plain, users }
    let name: String
    let policy: RoutePolicy?
    let header: Header
  }

  func run() async throws {
    let mesh = try await BenchMesh.start(
      workers: ["a", "b", "c", "d"].map { ["--model", "echo", "--model-version", $0, "--capacity", "100000", "--name", "bench-\($0)"] })
    defer { mesh.stop() }
    let admin = try WeftClient(gateways: [mesh.frontend])
    defer { admin.close() }

    let split = RoutePolicy(service: EchoService.name, split: [("a", 50), ("b", 30), ("c", 20)])
    var shadowed = split
    shadowed.shadow.version = "d"
    shadowed.shadow.share = 0.1
    let setups = [
      Setup(name: "a named, no policy", policy: nil, header: .named),
      Setup(name: "policy a=100", policy: RoutePolicy(service: EchoService.name, split: [("a", 100)]), header: .plain),
      Setup(name: "3-version split", policy: split, header: .plain),
      Setup(name: "split, sticky users", policy: split, header: .users),
      Setup(name: "split + 10% shadow", policy: shadowed, header: .plain),
      Setup(name: "no policy, 4 workers", policy: nil, header: .plain),
    ]
    let context = try Context()
    let body = [UInt8](repeating: 0x5a, count: 64)
    let plain = try echoRequestHeader()
    let users = try (0..<1_024).map { try echoRequestHeader(user: "user-\($0)") }
    let generator = try LoadGenerator(context: context, endpoint: mesh.frontend, frames: [Signature.client, plain, body], checksWeftStatus: true)
    let named = try LoadGenerator(
      context: context, endpoint: mesh.frontend, frames: [Signature.client, try echoRequestHeader(version: "a"), body],
      checksWeftStatus: true)
    let sticky = try LoadGenerator(
      context: context, endpoint: mesh.frontend, frames: [Signature.client, plain, body], checksWeftStatus: true, headerVariants: users)
    let generators: [Setup.Header: LoadGenerator] = [.named: named, .plain: generator, .users: sticky]

    print("weft-bench routing: \(load.rounds) rounds, \(load.messages) requests of 64 B with \(load.inFlight) in flight, 4 echo workers, \(ProcessInfo.processInfo.activeProcessorCount) cores")
    var throughputs = [[Double]](repeating: [], count: setups.count)
    var p50s = [[Double]](repeating: [], count: setups.count)
    var cpus = [[Double]](repeating: [], count: setups.count)
    for round in 0..<load.rounds {
      // Each round starts one set-up later, so no set-up always runs first or after the same one.
      for step in setups.indices {
        let index = (round + step) % setups.count
        let setup = setups[index]
        if let policy = setup.policy { try await admin.setRoute(policy) } else { try await admin.clearRoute(service: EchoService.name) }
        let driver = generators[setup.header]!
        _ = try driver.roundTrips(200)  // warm up
        let latencies = try driver.roundTrips(load.latencySamples)
        p50s[index].append(BenchFormat.percentile(latencies, 50))
        let cpuBefore = cpuMicroseconds(pid: mesh.gateway.pid) ?? 0
        throughputs[index].append(try driver.throughput(total: load.messages, inFlight: load.inFlight))
        cpus[index].append(((cpuMicroseconds(pid: mesh.gateway.pid) ?? 0) - cpuBefore) / Double(load.messages))
      }
    }
    let failed = generators.values.reduce(0) { $0 + $1.failedReplies }
    if failed > 0 { throw BenchError("\(failed) replies were not OK") }

    let baseline = (BenchFormat.median(throughputs[0]), BenchFormat.median(p50s[0]), BenchFormat.median(cpus[0]))
    print("")
    print("                          requests/s    p50 µs   gateway CPU µs/req   vs a named: throughput  p50   CPU")
    for (index, setup) in setups.enumerated() {
      let (rate, p50, cpu) = (BenchFormat.median(throughputs[index]), BenchFormat.median(p50s[index]), BenchFormat.median(cpus[index]))
      print(
        "  \(setup.name.padding(toLength: 22, withPad: " ", startingAt: 0))\(BenchFormat.column(rate, 10, 0))  \(BenchFormat.column(p50, 8))"
          + "  \(BenchFormat.column(cpu, 19, 2))   \(BenchFormat.column(rate / baseline.0, 19, 2))x \(BenchFormat.column(p50 / baseline.1, 5, 2))x"
          + " \(BenchFormat.column(cpu / baseline.2, 5, 2))x")
    }
    let plainCost = RoutingDecisionTiming.nanosecondsPerRequest(policy: shadowed, userIDs: [], requests: 2_000_000)
    let stickyCost = RoutingDecisionTiming.nanosecondsPerRequest(
      policy: shadowed, userIDs: (0..<1_024).map { "user-\($0)" }, requests: 2_000_000)
    let perRequest = BenchFormat.median(cpus[0]) * 1_000
    print("")
    print("routing decision alone (in process, split + shadow draw + figures): "
      + "\(BenchFormat.column(plainCost, 0, 0)) ns without a user id, \(BenchFormat.column(stickyCost, 0, 0)) ns with one; "
      + "\(BenchFormat.column(100 * stickyCost / perRequest, 0, 2))% of the gateway's CPU per request above")
    let status = try await admin.meshStatus()
    if let echo = status.services.first(where: { $0.name == EchoService.name }) {
      let served = echo.versions.map { "\($0.version)=\($0.served.requests)" }.joined(separator: " ")
      let shadow = echo.versions.first { $0.version == "d" }?.shadow.requests ?? 0
      print("\nserved per version: \(served); shadow copies to d: \(shadow), skipped: \(echo.route.shadowSkipped)")
    }
  }
}
