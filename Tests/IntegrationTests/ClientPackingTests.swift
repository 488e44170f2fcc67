import Foundation
import SwiftProtobuf
import Testing
import WeftClient
import WeftProtocol
import ZeroMQ

/// The Swift client's packed calls (`WFP`, docs/PROTOCOL.md) against a bare ROUTER
/// playing a gateway over loopback TCP: one that reads packs, and one from before packing
/// that refuses them. Every wait is bounded.
@Suite struct ClientPackingTests {
  @Test func afterItsFirstPackIsAnsweredTheClientPacksTheCallsItHasReady() async throws {
    let (gateway, client, first, probe) = try await Self.firstCall()
    defer { client.close() }
    try gateway.answer(probe, packed: true)
    #expect(try await first.value.body == [Data([1])])

    // Bursts of calls until one turn of the client's I/O thread found several ready (a lone
    // call goes plain); each burst fully answered, half the answers plain.
    var largestPack = 0
    for _ in 0..<10 where largestPack < 2 {
      let count = 40
      let calls = (0..<count).map { index in
        Task { try await client.call("echo", "echo", body: [Data([UInt8(index)])], options: CallOptions(timeout: .seconds(10))) }
      }
      var received = 0
      while received < count, let message = try await gateway.receive(within: 5_000) {
        received += message.calls.count
        if message.packed { largestPack = max(largestPack, message.calls.count) }
        try gateway.answer(message, packed: received % 2 == 0)
      }
      #expect(received == count)
      for (index, call) in calls.enumerated() { #expect(try await call.value.body == [Data([UInt8(index)])]) }
    }
    #expect(largestPack >= 2, "no turn's calls went packed")
  }

  @Test func aGatewayThatCannotReadPacksGetsTheCallAgainPlainAndEveryCallAfter() async throws {
    let (gateway, client, first, probe) = try await Self.firstCall()
    defer { client.close() }
    // What a gateway from before packing answers: it could not read the pack at all.
    try gateway.refuseAsUnreadable(probe.identity)
    let again = try #require(try await gateway.receive(within: 5_000))
    #expect(!again.packed && again.calls.map(\.header.requestID) == probe.calls.map(\.header.requestID))
    try gateway.answer(again, packed: false)
    #expect(try await first.value.body == [Data([1])])

    let second = Task { try await client.call("echo", "echo", body: [Data([2])], options: CallOptions(timeout: .seconds(10))) }
    let plain = try #require(try await gateway.receive(within: 5_000))
    #expect(!plain.packed)
    try gateway.answer(plain, packed: false)
    #expect(try await second.value.body == [Data([2])])
  }
}

extension ClientPackingTests {
  /// A fake gateway, a new client of it, and the client's first call (body [1]) with the
  /// message it came in: a pack of one, as on every new connection.
  fileprivate static func firstCall() async throws -> (FakeGateway, WeftClient, Task<Response, any Error>, FakeGateway.Message) {
    let gateway = try FakeGateway()
    let client = try WeftClient(gateways: [gateway.endpoint])
    let call = Task { try await client.call("echo", "echo", body: [Data([1])], options: CallOptions(timeout: .seconds(10))) }
    let probe = try #require(try await gateway.receive(within: 5_000))
    #expect(probe.packed && probe.calls.count == 1)
    return (gateway, client, call, probe)
  }
}

/// A ROUTER on loopback TCP that reads what a client sends and answers echo calls.
private final class FakeGateway {
  struct Call {
    let header: RequestHeader
    let body: [[UInt8]]
  }

  /// A message a client sent: who from, whether packed, and the calls in it.
  struct Message {
    let identity: [UInt8]
    let packed: Bool
    let calls: [Call]
  }

  let context: Context
  let socket: Socket
  let endpoint: String
  private let frames = Frames(capacity: 16)

  init() throws {
    context = try Context()
    socket = try Socket.router(context, binding: "tcp://127.0.0.1:*")
    socket.linger = 0
    endpoint = try socket.lastEndpoint()
  }

  /// The next message: its sender, whether it was packed, and its calls. Sleeps between
  /// looks, so the client's calls (tasks on the same threads) can run.
  func receive(within milliseconds: Int) async throws -> Message? {
    let deadline = ContinuousClock.now + .milliseconds(milliseconds)
    while ContinuousClock.now < deadline {
      guard try socket.receive(into: frames, wait: false) else {
        try await Task.sleep(for: .milliseconds(2))
        continue
      }
      let message = (0..<frames.count).map { frames.bytes(at: $0) }
      let identity = message[0]
      if message[1] == Signature.clientPacked {
        var calls: [Call] = []
        try message[2].withUnsafeBytes { pack in
          _ = try FramePack.validate(pack, maxFrames: 62)
          try FramePack.forEachMessage(in: pack) { packed in
            let parts = packed.map { Array($0) }
            calls.append(Call(header: try RequestHeader(serializedBytes: parts[0]), body: Array(parts.dropFirst())))
          }
        }
        return Message(identity: identity, packed: true, calls: calls)
      }
      let call = Call(header: try RequestHeader(serializedBytes: message[2]), body: Array(message.dropFirst(3)))
      return Message(identity: identity, packed: false, calls: [call])
    }
    return nil
  }

  /// Echoes the body of each call of `message` back, in one pack or one message each.
  func answer(_ message: Message, packed: Bool) throws {
    let identity = message.identity
    let replies = try message.calls.map { call -> [[UInt8]] in
      var header = ResponseHeader()
      (header.requestID, header.status, header.endOfStream) = (call.header.requestID, .ok, true)
      return [try header.serializedBytes()] + call.body
    }
    if packed {
      var pack = FramePack()
      for reply in replies { pack.append(message: reply) }
      try send([identity, Signature.clientPacked, pack.bytes])
    } else {
      for reply in replies { try send([identity, Signature.client] + reply) }
    }
  }

  /// Answers as a gateway that does not know the `WFP` signature does.
  func refuseAsUnreadable(_ identity: [UInt8]) throws {
    var header = ResponseHeader()
    (header.requestID, header.status, header.endOfStream) = (0, .invalidArgument, true)
    header.message = "first frame is not a Weft client signature (\"WFC\" + version)"
    try send([identity, Signature.client, try header.serializedBytes()])
  }

  private func send(_ message: [[UInt8]]) throws {
    for (index, frame) in message.enumerated() { try socket.send(frame, more: index < message.count - 1) }
  }
}
