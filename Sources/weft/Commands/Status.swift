import ArgumentParser
import WeftProcess
import Foundation
import SwiftProtobuf
import WeftClient
import WeftGateway
import WeftProtocol

/// `weft status`: services, versions, workers, in flight and queue depth.
struct Status: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show the gateway's services, versions, workers, in-flight requests and queues.")

  @Flag(help: "Print JSON (protobuf JSON mapping of MeshStatus).")
  var json = false
  @Flag(help: "Compare versions side by side: share, requests, errors, latency, rewards, shadow traffic.")
  var versions = false
  @OptionGroup var client: ClientOptions

  func run() async throws {
    let status: MeshStatus
    do {
      let weft = try client.connect()
      defer { weft.close() }
      status = try await weft.meshStatus(timeout: .milliseconds(client.timeoutMs))
    } catch let error as WeftError {
      complain("\(error.code.name): \(error.message)")
      throw ExitCode.failure
    }
    if json {
      print(try status.jsonString(options: .weftCLI))
    } else if versions {
      print(VersionTable.render(status))
    } else {
      print(StatusTable.render(status))
    }
  }
}

/// Renders a ``MeshStatus`` as aligned text.
enum StatusTable {
  static func render(_ status: MeshStatus) -> String {
    let keyed = status.services.contains { $0.versions.contains { $0.workers.contains { !$0.keyName.isEmpty } } }
    var rows = [["SERVICE", "VERSION", "WORKER", "IN FLIGHT", "CAPACITY", "DONE", "STATE", "QUEUE"] + (keyed ? ["KEY"] : [])]
    for service in status.services {
      let queue = "\(service.queueDepth)/\(service.queueLimit)"
      if service.versions.isEmpty { rows.append([service.name, "-", "(no workers)", "0", "0", "0", "-", queue] + (keyed ? ["-"] : [])) }
      for version in service.versions {
        for worker in version.workers {
          rows.append([
            service.name, version.version, worker.name, "\(worker.inFlight)", "\(worker.capacity)",
            "\(worker.completed)", worker.draining ? "draining" : "ready", queue,
          ] + (keyed ? [worker.keyName.isEmpty ? "-" : worker.keyName] : []))
        }
      }
    }
    var lines = [TextTable.render(rows)]
    let replies = status.replies.map { "\($0.code)=\($0.count)" }.joined(separator: " ")
    lines.append("")
    lines.append("gateway \(status.gatewayID), up \(status.uptimeMs / 1_000) s; replies: \(replies.isEmpty ? "none" : replies); "
      + "redispatched \(status.redispatched); workers evicted \(status.workersEvicted); "
      + "malformed \(status.malformed.reduce(0) { $0 + $1.count }); undeliverable \(status.undeliverable)")
    if status.clientsBehind > 0 || status.clientBudgetRefusals > 0 {
      lines.append("clients not reading: \(status.clientsBehind), holding \(status.heldReplyBytes >> 10) KiB of replies; "
        + "requests refused over a client's budget: \(status.clientBudgetRefusals)")
    }
    if status.clientPacks > 0 {
      let perPack = Double(status.packedRequests) / Double(status.clientPacks)
      lines.append("packed client messages: \(status.clientPacks), holding \(status.packedRequests) requests (\(String(format: "%.1f", perPack)) a message)")
    }
    return lines.joined(separator: "\n")
  }
}

/// Renders the versions of each service side by side, for A/B comparisons.
enum VersionTable {
  static func render(_ status: MeshStatus) -> String {
    var rows = [[
      "SERVICE", "VERSION", "TRAFFIC", "SHARE", "WORKERS", "REQUESTS", "ERRORS", "ERR%", "P50", "P90", "P99",
      "QUEUE P50", "COMPUTE P50", "REWARD",
    ]]
    for service in status.services {
      for version in service.versions {
        let share = service.hasRoute ? RouteText.percent(version.share) : "-"
        let reward = version.rewards > 0 ? String(format: "%.3f (%d)", version.meanReward, version.rewards) : "-"
        rows.append(
          [service.name, version.version, "served", share, "\(version.workers.count)"] + columns(version.served) + [reward])
        if version.shadow.requests > 0 {
          rows.append([service.name, version.version, "shadow", "-", "\(version.workers.count)"] + columns(version.shadow) + ["-"])
        }
      }
    }
    var text = TextTable.render(rows)
    let notes = status.services.filter(\.hasRoute).map { "\($0.name): \(RouteText.describe($0.route.policy))" }
    if !notes.isEmpty { text += "\n\n" + notes.joined(separator: "\n") }
    return text
  }

  private static func columns(_ figures: Weft_V1_VersionFigures) -> [String] {
    let errors = figures.errors.reduce(0) { $0 + $1.count }
    let rate = figures.requests > 0 ? String(format: "%.1f", 100 * Double(errors) / Double(figures.requests)) : "-"
    return [
      "\(figures.requests)", errors == 0 ? "0" : figures.errors.map { "\($0.code)=\($0.count)" }.joined(separator: " "), rate,
      duration(figures.total.p50Us, figures.total.count), duration(figures.total.p90Us, figures.total.count),
      duration(figures.total.p99Us, figures.total.count), duration(figures.queue.p50Us, figures.queue.count),
      duration(figures.compute.p50Us, figures.compute.count),
    ]
  }

  private static func duration(_ microseconds: UInt64, _ count: UInt64) -> String {
    guard count > 0 else { return "-" }
    return microseconds < 10_000 ? String(format: "%.2f ms", Double(microseconds) / 1_000) : "\(microseconds / 1_000) ms"
  }
}
