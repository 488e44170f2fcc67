import Foundation
import SwiftProtobuf
import Testing
import WeftProtocol
import ZeroMQ

/// A real `weft worker` against a bare ROUTER playing its gateway: it says in READY that
/// it reads headers in the envelope's frame and PACKED messages, and answers each REQUEST
/// in the layout the REQUEST came in (packing its replies only to a gateway that packed),
/// so a gateway from before those layouts (version 1 only) still works.
@Suite struct WorkerLayoutTests {
  @Test func aWorkerAnswersEachRequestInTheLayoutItCameIn() async throws {
    let (context, gateway, worker) = try startEchoWorker(name: "layout", logLevel: "warning")
    defer { stop(gateway, worker, context) }

    let ready = try #require(try receive(from: gateway, command: .ready, within: .seconds(20)))
    let identity = ready[0]
    #expect(ready[1][3] == WorkerEnvelope.separateHeaderVersion)
    #expect(try WorkerReady(serializedBytes: ready[2]).inlineHeaders)
    #expect(try WorkerReady(serializedBytes: ready[2]).readsPacked)

    for inline in [false, true] {
      let id: UInt64 = inline ? 2 : 1
      var header = RequestHeader()
      (header.requestID, header.service, header.method) = (id, EchoService.name, EchoService.echo.name)
      let envelope = WorkerEnvelope(.request, dispatchID: id, remainingMilliseconds: 5_000, inlineHeader: inline)
      let encoded: [UInt8] = try header.serializedBytes()
      let body = Array("layout \(id)".utf8)
      try gateway.send(identity, more: true)
      if inline {
        try gateway.send(envelope.bytes + encoded, more: true)
      } else {
        try gateway.send(envelope.bytes, more: true)
        try gateway.send(encoded, more: true)
      }
      try gateway.send(body, more: false)

      let final = try #require(try receive(from: gateway, command: .final, within: .seconds(10)))
      let replyEnvelope = try final[1].withUnsafeBytes { try WorkerEnvelope(decoding: $0) }
      #expect(replyEnvelope.dispatchID == id)
      #expect(replyEnvelope.hasInlineHeader == inline)
      let replyHeader = inline ? Array(final[1].dropFirst(WorkerEnvelope.longSize)) : final[2]
      let response = try ResponseHeader(serializedBytes: replyHeader)
      #expect(response.requestID == id && response.status == .ok && response.endOfStream)
      #expect(final.last == body)
      #expect(final.count == (inline ? 3 : 4))  // identity, envelope(+header), [header,] body
    }

    // Three REQUESTs in one PACKED: answered, and in a PACKED too, now that this gateway packs.
    // A gateway packs only REQUESTs: the HEARTBEAT packed before them is passed over.
    var pack = FramePack()
    let heartbeat = Frames()
    heartbeat.append(WorkerEnvelope(.heartbeat).bytes)
    pack.append(heartbeat, range: 0..<1)
    for id in 3...5 as ClosedRange<UInt64> {
      var header = RequestHeader()
      (header.requestID, header.service, header.method) = (id, EchoService.name, EchoService.echo.name)
      let request = Frames()
      request.append(WorkerEnvelope(.request, dispatchID: id, remainingMilliseconds: 5_000, inlineHeader: true).bytes + (try header.serializedBytes()))
      request.append(Array("packed \(id)".utf8))
      pack.append(request, range: 0..<2)
    }
    try gateway.send(identity, more: true)
    try gateway.send(WorkerEnvelope(.packed).bytes, more: true)
    try gateway.send(pack.bytes, more: false)
    let packed = try #require(try receive(from: gateway, command: .packed, within: .seconds(10)))
    #expect(packed.count == 3)  // identity, envelope, pack
    var answered: [UInt64: [UInt8]] = [:]
    try packed[2].withUnsafeBytes { pack in
      #expect(try FramePack.validate(pack, maxFrames: 64) == 3)
      try FramePack.forEachMessage(in: pack) { message in
        let frames = Array(message)
        let envelope = try WorkerEnvelope(decoding: frames[0])
        #expect(envelope.command == .final && envelope.hasInlineHeader && frames.count == 2)
        let response = try ResponseHeader(serializedBytes: Array(WorkerEnvelope.inlineHeader(in: frames[0])))
        #expect(response.requestID == envelope.dispatchID && response.status == .ok)
        answered[envelope.dispatchID] = Array(frames[1])
      }
    }
    #expect(answered == [3: Array("packed 3".utf8), 4: Array("packed 4".utf8), 5: Array("packed 5".utf8)])
  }

  /// A REQUEST whose header does not decode is answered INVALID_ARGUMENT under its own
  /// dispatch id, in its layout, and the worker goes on serving.
  @Test func aHeaderThatDoesNotDecodeIsRefusedAndTheWorkerGoesOn() async throws {
    let (context, gateway, worker) = try startEchoWorker(name: "bad", logLevel: "error")
    defer { stop(gateway, worker, context) }
    let identity = try #require(try receive(from: gateway, command: .ready, within: .seconds(20)))[0]

    let truncated: [UInt8] = [0x08, 0xff]  // request_id's varint cut short
    try gateway.send(identity, more: true)
    try gateway.send(WorkerEnvelope(.request, dispatchID: 41, remainingMilliseconds: 5_000, inlineHeader: true).bytes + truncated, more: true)
    try gateway.send(Array("never read".utf8), more: false)
    let refusal = try #require(try receive(from: gateway, command: .final, within: .seconds(10)))
    let refusalEnvelope = try refusal[1].withUnsafeBytes { try WorkerEnvelope(decoding: $0) }
    #expect(refusalEnvelope.dispatchID == 41 && refusalEnvelope.hasInlineHeader)
    let refused = try ResponseHeader(serializedBytes: Array(refusal[1].dropFirst(WorkerEnvelope.longSize)))
    #expect(refused.status == .invalidArgument && refused.endOfStream)
    #expect(refused.message.contains("could not decode the request header"), "\(refused.message)")

    var header = RequestHeader()
    (header.requestID, header.service, header.method) = (42, EchoService.name, EchoService.echo.name)
    try gateway.send(identity, more: true)
    try gateway.send(WorkerEnvelope(.request, dispatchID: 42, remainingMilliseconds: 5_000, inlineHeader: true).bytes + (try header.serializedBytes()), more: true)
    try gateway.send(Array("after".utf8), more: false)
    let answer = try #require(try receive(from: gateway, command: .final, within: .seconds(10)))
    let answered = try ResponseHeader(serializedBytes: Array(answer[1].dropFirst(WorkerEnvelope.longSize)))
    #expect(answered.requestID == 42 && answered.status == .ok)
    #expect(answer.last == Array("after".utf8))
  }

  /// A bare ROUTER on a loopback port playing the gateway, and a `weft worker --model echo`
  /// registering with it (its READY not yet read).
  private func startEchoWorker(name: String, logLevel: String) throws -> (Context, Socket, MeshProcess) {
    let context = try Context()
    let gateway = try Socket(context: context, type: .router)
    gateway.linger = 0
    do {
      try gateway.bind("tcp://127.0.0.1:*")
      let worker = try MeshProcess(
        ["worker", "--model", "echo", "--gateway", try gateway.lastEndpoint(), "--name", name, "--log-level", logLevel])
      return (context, gateway, worker)
    } catch {
      gateway.close()
      throw error
    }
  }

  /// Kills the worker and closes the socket (the context outlives it).
  private func stop(_ gateway: Socket, _ worker: MeshProcess, _ context: Context) {
    kill(worker.pid, SIGKILL)
    gateway.close()
    withExtendedLifetime(context) {}
  }

  /// The next message from the worker with `command`, skipping others (heartbeats,
  /// credits); nil if none comes in time.
  private func receive(from socket: Socket, command: WorkerCommand, within timeout: Duration) throws -> [[UInt8]]? {
    let frames = Frames(capacity: 8)
    let deadline = ContinuousClock.now + timeout
    var poller = Poller()
    _ = try poller.add(socket)
    while ContinuousClock.now < deadline {
      guard try poller.wait(timeoutMilliseconds: 100) > 0, try socket.receive(into: frames, wait: false), frames.count >= 2 else { continue }
      let message = (0..<frames.count).map { frames.bytes(at: $0) }
      if (try? message[1].withUnsafeBytes { try WorkerEnvelope(decoding: $0) })?.command == command { return message }
    }
    return nil
  }
}
