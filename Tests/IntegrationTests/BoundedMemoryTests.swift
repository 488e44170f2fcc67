import Foundation
import Synchronization
import Testing
import WeftClient
import WeftProtocol
import ZeroMQ

/// A peer that floods a real gateway process and never reads cannot grow its memory, and
/// its garbage is counted rather than logged line by line. Each test also runs the same
/// flood against a gateway without the bound, to show what the bound prevents.
@Suite(.serialized) struct BoundedMemoryTests {
  private static let messages = 1_000_000
  private static let budget = 20 << 20

  /// Messages from a peer that never registered each make the gateway answer DISCONNECT;
  /// with the worker queue unbounded those answers pile up for a peer that never reads.
  @Test func aWorkerPeerThatNeverReadsCannotGrowTheGateway() async throws {
    let bounded = try await flood(.workerSide, gatewayConfig: nil)
    #expect(bounded.grewBy < Self.budget, "grew by \(bounded.grewBy >> 20) MB")
    #expect(bounded.status.workerMessagesDropped > 0)
    #expect(bounded.malformedLines <= bounded.seconds + 3, "\(bounded.malformedLines) log lines in \(bounded.seconds) s")

    let unbounded = try await flood(.workerSide, gatewayConfig: "gateway:\n  worker_high_water_mark: 0\n")
    #expect(unbounded.grewBy > Self.budget, "without the bound it grew by only \(unbounded.grewBy >> 20) MB")
  }

  /// Garbage at the client port gets INVALID_ARGUMENT replies; to a client that never reads
  /// they stop at the client queue's bound.
  @Test func aClientThatSendsGarbageAndNeverReadsCannotGrowTheGateway() async throws {
    let bounded = try await flood(.clientSide, gatewayConfig: nil)
    #expect(bounded.grewBy < Self.budget, "grew by \(bounded.grewBy >> 20) MB")
    #expect(bounded.status.undeliverable > 0)
    #expect(bounded.malformedLines <= bounded.seconds + 3, "\(bounded.malformedLines) log lines in \(bounded.seconds) s")

    let unbounded = try await flood(.clientSide, gatewayConfig: "gateway:\n  client_high_water_mark: 0\n")
    #expect(unbounded.grewBy > Self.budget, "without the bound it grew by only \(unbounded.grewBy >> 20) MB")
  }

  private enum Side { case workerSide, clientSide }

  private struct Outcome {
    let grewBy: Int
    let status: MeshStatus
    let malformedLines: Int
    let seconds: Int
  }

  /// Sends `messages` malformed messages to one port of a fresh gateway from a socket
  /// that never reads, waits until the gateway has counted them all, and measures it.
  private func flood(_ side: Side, gatewayConfig: String?) async throws -> Outcome {
    var arguments: [String] = []
    let config = FileManager.default.temporaryDirectory.appendingPathComponent("weft-flood-\(UUID().uuidString).yaml")
    defer { try? FileManager.default.removeItem(at: config) }
    if let gatewayConfig {
      try gatewayConfig.write(to: config, atomically: true, encoding: .utf8)
      arguments = ["--config", config.path]
    }
    let mesh = try await TestMesh(gatewayArguments: arguments)
    _ = try await mesh.client.meshStatus()
    let before = try residentBytes(mesh.gateway.pid)
    let started = ContinuousClock.now

    let context = try Context()
    let flooder = try Socket.dealer(context, connecting: [side == .workerSide ? mesh.backend : mesh.frontend])
    flooder.linger = 0
    try flooder.setReceiveHighWaterMark(1)
    try flooder.setSendHighWaterMark(0)
    // A heartbeat from a peer that never sent READY; a client header that is not one.
    let frames: [[UInt8]] = side == .workerSide ? [WorkerEnvelope(.heartbeat).bytes] : [Signature.client, [0x0a, 0xff, 0xff]]
    for _ in 0..<Self.messages {
      for (index, frame) in frames.enumerated() { try flooder.send(frame, more: index < frames.count - 1) }
    }
    let kind = side == .workerSide ? "worker: not registered" : "client: not a RequestHeader"
    var status = MeshStatus()
    let deadline = ContinuousClock.now + .seconds(120)
    repeat {
      try await Task.sleep(for: .milliseconds(100))
      status = try await mesh.client.meshStatus(timeout: .seconds(5))
    } while (status.malformed.first { $0.kind.hasPrefix(kind) }?.count ?? 0) < UInt64(Self.messages) && ContinuousClock.now < deadline
    #expect(status.malformed.first { $0.kind.hasPrefix(kind) }?.count == UInt64(Self.messages), "\(status.malformed)")
    let after = try residentBytes(mesh.gateway.pid)
    // Still serving.
    #expect(try await mesh.client.meshStatus().gatewayID == "gateway")
    flooder.close()
    let lines = mesh.gateway.stderrLines.withLock { $0 }
    return Outcome(
      grewBy: after - before, status: status, malformedLines: lines,
      seconds: Int((ContinuousClock.now - started).components.seconds) + 1)
  }

  private func residentBytes(_ pid: Int32) throws -> Int {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
      let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { throw TestFailure("no VmRSS for \(pid)") }
    return kilobytes << 10
  }
}
