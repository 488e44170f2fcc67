import Foundation
import SwiftProtobuf
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

  /// A client sends `replyFloodRequests` echo calls of 64 KiB and reads nothing until
  /// the gateway has answered them all. With a reply budget the gateway keeps about the
  /// budget (ZeroMQ's queue included) and refuses the rest; without it, it keeps every
  /// reply. Either way, once the client reads, each request has exactly one answer.
  @Test func aClientThatNeverReadsIsHeldToItsReplyBudget() async throws {
    let budget = 16 << 20, queue = 100
    let bounded = try await floodReplies(gatewayConfig: "gateway:\n  client_high_water_mark: \(queue)\n  max_held_reply_bytes_per_client: \(budget)\n")
    // Requests admitted before the client fell behind (while ZeroMQ's queue still had
    // room) are answered whatever their number: the timing decides it; allow 256 of them.
    let admittedBeforeBehind = 256 * Self.replyBytes
    // Refusals of the rest are kept too: at most max_in_flight_per_client of about 600 bytes.
    let refusals = 4_096 * 700
    let bound = budget + admittedBeforeBehind + (8 << 20)
    #expect(bounded.grewBy < bound, "grew by \(bounded.grewBy >> 20) MB")
    #expect(bounded.status.clientBudgetRefusals > 0)
    #expect(bounded.status.heldReplyBytes + UInt64(queue * Self.replyBytes) > UInt64(budget / 2), "\(bounded.status)")
    #expect(bounded.status.heldReplyBytes < UInt64(budget + admittedBeforeBehind + refusals), "\(bounded.status)")
    #expect(bounded.status.clientsBehind == 1)
    #expect(bounded.answered == Self.replyFloodRequests, "answers: \(bounded.answered) ok \(bounded.ok)")
    #expect(bounded.ok > 0 && bounded.ok < Self.replyFloodRequests / 2)
    // The replies were kept, not dropped, and nothing is left once the client has read.
    #expect(bounded.statusAfterReading.clientsBehind == 0 && bounded.statusAfterReading.heldReplyBytes == 0)
    #expect(bounded.statusAfterReading.undeliverable == 0)

    let unbounded = try await floodReplies(gatewayConfig: "gateway:\n  client_high_water_mark: 0\n")
    #expect(unbounded.grewBy > 2 * bound, "without the bound it grew by only \(unbounded.grewBy >> 20) MB")
    #expect(unbounded.ok == Self.replyFloodRequests)
  }

  private static let replyFloodRequests = 4_000
  private static let replyBytes = 64 << 10

  private struct ReplyFloodOutcome {
    let grewBy: Int
    let status: MeshStatus
    let statusAfterReading: MeshStatus
    let answered: Int
    let ok: Int
  }

  private func floodReplies(gatewayConfig: String) async throws -> ReplyFloodOutcome {
    let config = FileManager.default.temporaryDirectory.appendingPathComponent("weft-replies-\(UUID().uuidString).yaml")
    defer { try? FileManager.default.removeItem(at: config) }
    // Room in the service's queue for the whole flood: only the reply budget refuses.
    try (gatewayConfig + "  queue_limit: 100000\n").write(to: config, atomically: true, encoding: .utf8)
    let mesh = try await TestMesh(gatewayArguments: ["--config", config.path])
    try await mesh.startWorker(name: "echo-1", ["--model", "echo"])
    let before = try residentBytes(mesh.gateway.pid)

    let context = try Context()
    let client = try Socket.dealer(context, connecting: [mesh.frontend])
    client.linger = 0
    try client.setReceiveHighWaterMark(1)
    try client.setSendHighWaterMark(0)
    let body = [UInt8](repeating: 0x5a, count: Self.replyBytes)
    for id in 1...Self.replyFloodRequests {
      var header = RequestHeader()
      (header.requestID, header.service, header.method, header.timeoutMs) = (UInt64(id), "echo", "echo", 600_000)
      try client.send(Signature.client, more: true)
      try client.send(try header.serializedBytes(), more: true)
      try client.send(body, more: false)
    }
    // Every request is either served by the worker or refused before reaching it.
    var status = MeshStatus()
    let deadline = ContinuousClock.now + .seconds(120)
    repeat {
      try await Task.sleep(for: .milliseconds(200))
      status = try await mesh.client.meshStatus(timeout: .seconds(5))
    } while (status.worker(named: "echo-1")?.completed ?? 0) + status.clientBudgetRefusals < UInt64(Self.replyFloodRequests)
      && ContinuousClock.now < deadline
    try await Task.sleep(for: .milliseconds(300))
    status = try await mesh.client.meshStatus(timeout: .seconds(5))
    let after = try residentBytes(mesh.gateway.pid)

    var answers = Set<UInt64>(), ok = 0
    let frames = Frames()
    let readDeadline = ContinuousClock.now + .seconds(60)
    while answers.count < Self.replyFloodRequests && ContinuousClock.now < readDeadline {
      guard try client.receive(into: frames, wait: false, maxFrames: 8) else {
        try await Task.sleep(for: .milliseconds(5))
        continue
      }
      let reply = try ResponseHeader(serializedBytes: frames.bytes(at: 1))
      #expect(answers.insert(reply.requestID).inserted, "request \(reply.requestID) answered twice")
      #expect(reply.status == .ok || reply.status == .resourceExhausted, "\(reply.status): \(reply.message)")
      if reply.status == .ok {
        ok += 1
        #expect(frames.size(at: 2) == Self.replyBytes)
      }
    }
    let statusAfterReading = try await mesh.client.meshStatus(timeout: .seconds(5))
    client.close()
    return ReplyFloodOutcome(grewBy: after - before, status: status, statusAfterReading: statusAfterReading, answered: answers.count, ok: ok)
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
