import ArgumentParser
import WeftProcess
import Foundation
import SwiftProtobuf
import WeftClient
import WeftConfiguration
import WeftGateway
import WeftProtocol

/// `weft route`: show and change how each service's requests choose a model version.
struct RouteCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "route",
    abstract: "Show and change version routing: weighted splits, sticky users, shadow traffic, ramps, bandits.",
    discussion: """
      Changes apply at once to new requests; requests in flight or queued keep their version. \
      They last until the gateway restarts or reloads its config (SIGHUP), whose `routes:` \
      then win. With several --gateway options, each gateway is changed.
      """,
    subcommands: [Show.self, Set.self, Clear.self, Reward.self],
    defaultSubcommand: Show.self)

  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print every service's policy and the shares now.")
    @Flag(help: "Print JSON (protobuf JSON mapping of RouteTable).")
    var json = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
      for gateway in client.gateways {
        let table = try await withGateway(gateway, client) { try await $0.routes(timeout: $1) }
        if json {
          print(try table.jsonString(options: .weftCLI))
        } else {
          if client.gateways.count > 1 { print("gateway \(gateway)") }
          print(RouteTableText.render(table))
        }
      }
    }
  }

  struct Set: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Set a service's policy.",
      discussion: """
        Examples:
          weft route set text --split v1=90,v2=10
          weft route set text --split v1=100 --shadow v2=10
          weft route set text --split v1=100 --ramp v2=1,50,100 --step-seconds 60 --rollback-error-rate 5
          weft route set text --split v1=50,v2=50 --bandit-floor 5
        """)

    @Argument(help: "The service.")
    var service: String
    @Option(help: "Versions and relative weights in order, e.g. v1=90,v2=10.")
    var split: String
    @Flag(help: "Split every request by weight, ignoring user ids (default: sticky per user).")
    var ignoreUserID = false
    @Option(help: "Mirror a share of requests to a version and drop its replies: VERSION=PERCENT.")
    var shadow: String?
    @Option(help: "Roll a version out: VERSION=PERCENT,PERCENT,… (its share at each step).")
    var ramp: String?
    @Option(help: "Seconds at each ramp step.")
    var stepSeconds: Double = 60
    @Option(help: "Roll the ramp back when its server-error rate passes this percentage (0: never).")
    var rollbackErrorRate: Double = 0
    @Option(help: "Replies of the ramped version before roll-back is judged.")
    var rollbackMinRequests: Int = 20
    @Option(help: "Move traffic toward the best mean reward (Thompson sampling), each version keeping this percentage.")
    var banditFloor: Double?
    @Flag(help: "Print JSON.")
    var json = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
      var spec = RouteSpec(service: service, split: split, sticky: !ignoreUserID, shadow: shadow)
      if let ramp {
        guard let equals = ramp.firstIndex(of: "=") else {
          throw ValidationError("--ramp takes VERSION=PERCENT,PERCENT,…, e.g. v2=1,50,100")
        }
        var steps = RouteSpec.Ramp(version: String(ramp[..<equals]), steps: String(ramp[ramp.index(after: equals)...]))
        (steps.stepSeconds, steps.rollbackErrorRate, steps.rollbackMinRequests) = (stepSeconds, rollbackErrorRate, rollbackMinRequests)
        spec.ramp = steps
      }
      if let banditFloor {
        var bandit = RouteSpec.Bandit()
        bandit.floor = banditFloor
        spec.bandit = bandit
      }
      let policy: RoutePolicy
      do {
        policy = try spec.policy()
        try RoutePolicyCheck.validate(policy)
      } catch {
        throw ValidationError("\(error)")
      }
      try await changeEverywhere(json: json, client: client) { try await $0.setRoute(policy, timeout: $1) }
    }
  }

  struct Clear: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Remove a service's policy: every live version serves, least loaded first.")
    @Argument(help: "The service.")
    var service: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
      try await changeEverywhere(json: false, client: client) { try await $0.clearRoute(service: service, timeout: $1) }
    }
  }

  struct Reward: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Credit a reward (0 to 1) to the version that served something, for the A/B figures and the bandit.")
    @Argument(help: "The service.")
    var service: String
    @Argument(help: "The version that served it (the reply's model_version).")
    var version: String
    @Argument(help: "The reward, from 0 (bad) to 1 (good).")
    var reward: Double
    @OptionGroup var client: ClientOptions

    func run() async throws {
      try await withGateway(client.gateways[0], client) {
        try await $0.reward([(service, version, reward)], timeout: $1)
      }
    }
  }
}

/// Makes a change on every gateway and prints the resulting table of the last.
private func changeEverywhere(
  json: Bool, client: ClientOptions, _ change: @escaping (WeftClient, Duration) async throws -> RouteTable
) async throws {
  var table = RouteTable()
  for gateway in client.gateways { table = try await withGateway(gateway, client, change) }
  print(json ? try table.jsonString(options: .weftCLI) : RouteTableText.render(table))
}

/// Runs `body` with a client of one gateway; a failure is printed as CODE: message, exit 1.
private func withGateway<Result>(
  _ gateway: String, _ client: ClientOptions, _ body: (WeftClient, Duration) async throws -> Result
) async throws -> Result {
  do {
    let weft = try client.connect(only: gateway)
    defer { weft.close() }
    return try await body(weft, .milliseconds(client.timeoutMs))
  } catch let error as WeftError {
    complain("\(gateway): \(error.code.name): \(error.message)")
    throw ExitCode.failure
  }
}

/// Renders a ``RouteTable`` as aligned text.
enum RouteTableText {
  static func render(_ table: RouteTable) -> String {
    guard !table.routes.isEmpty else { return "no routing policies: every live version serves, least loaded first" }
    var rows = [["SERVICE", "VERSION", "SHARE", "LIVE"]]
    var notes: [String] = []
    for route in table.routes {
      for version in route.versions {
        rows.append([route.policy.service, version.version, RouteText.percent(version.share), version.live ? "yes" : "no"])
      }
      var note = "\(route.policy.service): \(RouteText.describe(route.policy))"
      switch route.rampPhase {
      case .ramping: note += "; ramp at step \(route.rampStep + 1) of \(route.policy.ramp.shares.count)"
      case .complete: note += "; ramp complete"
      case .rolledBack: note += "; \(route.rampMessage)"
      default: break
      }
      if route.shadowSkipped > 0 { note += "; \(route.shadowSkipped) shadow copies skipped (no free worker)" }
      if route.fallback > 0 { note += "; \(route.fallback) requests served outside the split (no live version in it)" }
      notes.append(note)
    }
    return TextTable.render(rows) + "\n\n" + notes.joined(separator: "\n")
  }
}

extension JSONEncodingOptions {
  /// Field names as in the .proto files and 64-bit numbers as numbers, for scripts.
  static var weftCLI: JSONEncodingOptions {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    options.alwaysPrintInt64sAsNumbers = true
    return options
  }
}
