import ArgumentParser
import Foundation
import SwiftProtobuf
import WeftClient
import WeftProtocol

/// `weft status`: services, versions, workers, in flight and queue depth.
struct Status: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show the gateway's services, versions, workers, in-flight requests and queues.")

  @Flag(help: "Print JSON (protobuf JSON mapping of MeshStatus).")
  var json = false
  @OptionGroup var client: ClientOptions

  func run() async throws {
    let weft = try WeftClient(gateways: client.gateways)
    defer { weft.close() }
    let status: MeshStatus
    do {
      status = try await weft.meshStatus(timeout: .milliseconds(client.timeoutMs))
    } catch let error as WeftError {
      complain("\(error.code.name): \(error.message)")
      throw ExitCode.failure
    }
    if json {
      var options = JSONEncodingOptions()
      options.preserveProtoFieldNames = true
      options.alwaysPrintInt64sAsNumbers = true
      print(try status.jsonString(options: options))
    } else {
      print(StatusTable.render(status))
    }
  }
}

/// Renders a ``MeshStatus`` as aligned text.
enum StatusTable {
  static func render(_ status: MeshStatus) -> String {
    var rows = [["SERVICE", "VERSION", "WORKER", "IN FLIGHT", "CAPACITY", "DONE", "STATE", "QUEUE"]]
    for service in status.services {
      let queue = "\(service.queueDepth)/\(service.queueLimit)"
      if service.versions.isEmpty { rows.append([service.name, "-", "(no workers)", "0", "0", "0", "-", queue]) }
      for version in service.versions {
        for worker in version.workers {
          rows.append([
            service.name, version.version, worker.name, "\(worker.inFlight)", "\(worker.capacity)",
            "\(worker.completed)", worker.draining ? "draining" : "ready", queue,
          ])
        }
      }
    }
    let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    var lines = rows.map { row in
      row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }
    let replies = status.replies.map { "\($0.code)=\($0.count)" }.joined(separator: " ")
    lines.append("")
    lines.append("gateway \(status.gatewayID), up \(status.uptimeMs / 1_000) s; replies: \(replies.isEmpty ? "none" : replies); "
      + "redispatched \(status.redispatched); workers evicted \(status.workersEvicted)")
    return lines.joined(separator: "\n")
  }
}
