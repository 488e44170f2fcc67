import Foundation
import SwiftProtobuf
import Testing
import WeftClient
import WeftProtocol
import ZeroMQ

/// Bad input on the wire gets a specific status and message, and the gateway keeps serving.
@Suite(.serialized) struct MalformedInputTests {
  /// Sends raw frames from a bare DEALER and returns the decoded reply header.
  private func rawExchange(_ frames: [[UInt8]], frontend: String) throws -> ResponseHeader {
    let context = try Context()
    let socket = try Socket.dealer(context, connecting: [frontend])
    for (index, frame) in frames.enumerated() { try socket.send(frame, more: index < frames.count - 1) }
    var poller = Poller()
    let index = try poller.add(socket)
    try poller.wait(timeoutMilliseconds: 5_000)
    guard poller.isReadable(index) else { throw TestFailure("no reply to a malformed message within 5 s") }
    let reply = Frames()
    try socket.receive(into: reply)
    #expect(reply.count == 2)
    #expect(reply.frame(0, equals: Signature.client))
    return try ResponseHeader(borrowing: reply[1])
  }

  private func header(service: String = "echo", method: String = "echo", id: UInt64 = 7) throws -> [UInt8] {
    var header = RequestHeader()
    header.requestID = id
    header.service = service
    header.method = method
    return try header.serializedBytes()
  }

  @Test func malformedAndTruncatedMessagesGetInvalidArgument() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "e", ["--model", "echo"])
    let cases: [(String, [[UInt8]], StatusCode, String)] = [
      ("one frame only", [Signature.client], .invalidArgument, "frames"),
      ("wrong signature", [Array("HTTP".utf8), try header()], .invalidArgument, "signature"),
      ("short signature", [[0x57, 0x46], try header()], .invalidArgument, "signature"),
      ("header not protobuf", [Signature.client, [0xff, 0xff, 0xff, 0xff]], .invalidArgument, "RequestHeader"),
      ("header truncated", [Signature.client, Array(try header(service: "a-long-service-name").dropLast(3))],
       .invalidArgument, "RequestHeader"),
      ("no service", [Signature.client, try header(service: "")], .invalidArgument, "service"),
      ("future version", [[0x57, 0x46, 0x43, 9], try header()], .unimplemented, "version 9"),
      ("too many frames", [Signature.client, try header()] + Array(repeating: [1], count: 80), .invalidArgument, "frames"),
    ]
    for (name, frames, code, words) in cases {
      let reply = try rawExchange(frames, frontend: mesh.frontend)
      #expect(StatusCode(wireValue: reply.status) == code, "\(name): \(reply.message)")
      #expect(reply.message.contains(words), "\(name): \(reply.message)")
      #expect(reply.endOfStream)
    }
    // The request id survives when the header could be read.
    let noService = try rawExchange([Signature.client, try header(service: "", id: 99)], frontend: mesh.frontend)
    #expect(noService.requestID == 99)

    // Still serving.
    let response = try await mesh.client.call("echo", "echo", body: [Data("still here".utf8)])
    #expect(response.body == [Data("still here".utf8)])
  }

  @Test func oversizedBodyGetsResourceExhausted() async throws {
    let mesh = try await TestMesh(gatewayArguments: ["--max-request-bytes", "100000"])
    try await mesh.startWorker(name: "e", ["--model", "echo"])
    let big = Data(count: 150_000)
    let result = await mesh.client.result("echo", "echo", body: [big])
    #expect(result.failureCode == .resourceExhausted)
    if case .failure(let error) = result { #expect(error.message.contains("100000")) }
    let small = try await mesh.client.call("echo", "echo", body: [Data(count: 90_000)])
    #expect(small.body.first?.count == 90_000)
  }

  @Test func unknownServiceMethodAndVersionAreNamed() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "e", ["--model", "echo", "--model-version", "v1"])
    let service = await mesh.client.result("nothing", "here")
    #expect(service.failureCode == .unavailable)
    let method = await mesh.client.result("echo", "shout")
    #expect(method.failureCode == .notFound)
    if case .failure(let error) = method { #expect(error.message.contains("echo, stream")) }
    let version = await mesh.client.result("echo", "echo", options: CallOptions(version: "v2"))
    #expect(version.failureCode == .notFound)
    let pinned = try await mesh.client.call("echo", "echo", options: CallOptions(version: "v1"))
    #expect(pinned.header.modelVersion == "v1")
  }
}
