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

  /// Which port a flood hits, with what, and the key that turns its bound off.
  enum Side: String, Sendable, CaseIterable {
    /// Heartbeats from a peer that never sent READY: each makes the gateway answer
    /// DISCONNECT, which piles up for a peer that never reads unless the queue is bounded.
    case worker
    /// Headers that are not RequestHeaders: each gets an INVALID_ARGUMENT reply.
    case client

    var frames: [[UInt8]] { self == .worker ? [WorkerEnvelope(.heartbeat).bytes] : [Signature.client, [0x0a, 0xff, 0xff]] }
    var malformedKind: String { self == .worker ? "worker: not registered" : "client: not a RequestHeader" }
    var unboundedConfig: String { "gateway:\n  \(rawValue)_high_water_mark: 0\n" }
  }

  @Test(arguments: Side.allCases)
  func aPeerThatFloodsAPortAndNeverReadsCannotGrowTheGateway(_ side: Side) async throws {
    let bounded = try await flood(side, gatewayConfig: nil)
    #expect(bounded.grewBy < Self.budget, "grew by \(bounded.grewBy >> 20) MB")
    // What the bound turned away was counted, not queued.
    #expect((side == .worker ? bounded.status.workerMessagesDropped : bounded.status.undeliverable) > 0)
    #expect(bounded.malformedLines <= bounded.seconds + 3, "\(bounded.malformedLines) log lines in \(bounded.seconds) s")

    let unbounded = try await flood(side, gatewayConfig: side.unboundedConfig)
    #expect(unbounded.grewBy > Self.budget, "without the bound it grew by only \(unbounded.grewBy >> 20) MB")
  }

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
    let flooder = try Socket.dealer(context, connecting: [side == .worker ? mesh.backend : mesh.frontend])
    flooder.linger = 0
    try flooder.setReceiveHighWaterMark(1)
    try flooder.setSendHighWaterMark(0)
    let frames = side.frames
    for _ in 0..<Self.messages {
      for (index, frame) in frames.enumerated() { try flooder.send(frame, more: index < frames.count - 1) }
    }
    let kind = side.malformedKind
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
