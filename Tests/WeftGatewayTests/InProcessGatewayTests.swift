import Foundation
import Logging
import SwiftProtobuf
import Testing
import WeftGateway
import WeftProtocol
import ZeroMQ

/// The gateway's behaviours that the integration tests reach through real processes,
/// here in milliseconds: a real gateway loop, with a client and workers played by bare
/// sockets over `inproc://` in the same context. Every wait is bounded.
@Suite struct InProcessGatewayTests {
  @Test func aRequestPastItsDeadlineEndsWithDeadlineExceededAndTheWorkerIsCancelled() async throws {
    try await InProcessMesh.with { mesh in
      let worker = try mesh.worker(name: "silent")
      let client = try mesh.client()
      try client.send(id: 1, service: EchoService.name, method: EchoService.echo.name, timeoutMs: 60, body: [1, 2, 3])
      let request = try #require(try worker.receive(within: 2_000))
      #expect(try WorkerEnvelope(frames: request).command == .request)
      let reply = try #require(try client.reply(within: 2_000))
      #expect(reply.status == .deadlineExceeded)
      #expect(reply.requestID == 1)
      let cancel = try #require(try worker.receive(within: 2_000))
      #expect(try WorkerEnvelope(frames: cancel) == WorkerEnvelope(.cancel, dispatchID: try WorkerEnvelope(frames: request).dispatchID))
    }
  }

  /// A worker that reads the header in the envelope's frame gets REQUESTs so, one frame
  /// shorter, and its FINALs laid out so reach the client; a worker that does not say so
  /// (an older one) still gets the header in its own frame, and is answered alike.
  @Test func eachWorkerGetsTheRequestLayoutItReads() async throws {
    try await InProcessMesh.with { mesh in
      let older = try mesh.worker(name: "older")
      let newer = try mesh.worker(name: "newer", inlineHeaders: true)
      let client = try mesh.client()
      for id in [UInt64(1), 2] {
        try client.send(id: id, service: EchoService.name, method: EchoService.echo.name, timeoutMs: 5_000, body: [UInt8(id)])
      }
      let toOlder = try #require(try older.receive(within: 2_000))
      let toNewer = try #require(try newer.receive(within: 2_000))
      #expect(toOlder.count == 3 && toOlder[0].count == WorkerEnvelope.longSize && toOlder[0][3] == 1)
      #expect(toNewer.count == 2 && toNewer[0].count > WorkerEnvelope.longSize && toNewer[0][3] == 2)
      let ids = [try Peer.requestHeader(of: toOlder).requestID, try Peer.requestHeader(of: toNewer).requestID]
      #expect(Set(ids) == [1, 2])
      #expect(toOlder.last == [UInt8(ids[0])] && toNewer.last == [UInt8(ids[1])])
      try older.answer(toOlder, body: Array("older".utf8))
      try newer.answer(toNewer, body: Array("newer".utf8))
      var replies: [UInt64: (String, [[UInt8]])] = [:]
      for _ in 0..<2 {
        let reply = try #require(try client.reply(within: 2_000))
        #expect(reply.status == .ok)
        replies[reply.requestID] = (reply.workerID, reply.body)
      }
      #expect(replies[ids[0]]?.0 == "older" && replies[ids[0]]?.1 == [Array("older".utf8)])
      #expect(replies[ids[1]]?.0 == "newer" && replies[ids[1]]?.1 == [Array("newer".utf8)])
    }
  }

  /// Requests dispatched together go in one PACKED to a worker that reads them, and its
  /// PACKED answer reaches every client; a worker that does not read them gets them one by
  /// one. Packing copies the requests, so nothing of them is lost either way.
  @Test(arguments: [false, true]) func aBurstGoesPackedOnlyToAWorkerThatReadsPacked(readsPacked: Bool) async throws {
    try await InProcessMesh.with { mesh in
      let worker = try mesh.worker(name: "echo", inlineHeaders: true, readsPacked: readsPacked)
      // No room at first: the burst waits in the queue and is dispatched at once when room comes.
      try worker.grantCapacity(0)
      try mesh.waitForStatus("echo's capacity is 0") { status in
        status.services.contains { $0.versions.contains { $0.workers.contains { $0.name == "echo" && $0.capacity == 0 } } }
      }
      let client = try mesh.client()
      for id in 1...4 as ClosedRange<UInt64> {
        try client.send(id: id, service: EchoService.name, method: EchoService.echo.name, timeoutMs: 5_000, body: [UInt8(id)])
      }
      try mesh.waitUntilQueued(4)
      try worker.grantCapacity(4)

      let first = try #require(try worker.receive(within: 2_000))
      var requests = [first]
      if readsPacked {
        #expect(try WorkerEnvelope(frames: first).command == .packed && first.count == 2)
        requests = try Peer.unpack(first[1])
      } else {
        for _ in 0..<3 { requests.append(try #require(try worker.receive(within: 2_000))) }
      }
      #expect(requests.count == 4)
      #expect(try requests.allSatisfy { try WorkerEnvelope(frames: $0).command == .request })
      let ids = try requests.map { try Peer.requestHeader(of: $0).requestID }
      #expect(Set(ids) == [1, 2, 3, 4])
      #expect(zip(requests, ids).allSatisfy { $0.last == [UInt8($1)] })

      if readsPacked {
        try worker.answerPacked(requests)
      } else {
        for request in requests { try worker.answer(request, body: request.last ?? []) }
      }
      var answered: Set<UInt64> = []
      for _ in 0..<4 {
        let reply = try #require(try client.reply(within: 2_000))
        #expect(reply.status == .ok && reply.workerID == "echo" && reply.body == [[UInt8(reply.requestID)]])
        answered.insert(reply.requestID)
      }
      #expect(answered == [1, 2, 3, 4])
    }
  }

  /// A worker packs only its replies: a pack holding anything else, or a pack that does
  /// not parse, is refused and counted; the worker's next replies still go through.
  @Test func aPackFromAWorkerHoldsOnlyWellFormedReplies() async throws {
    try await InProcessMesh.with { mesh in
      let worker = try mesh.worker(name: "echo", inlineHeaders: true, readsPacked: true)
      var ready = WorkerReady()
      (ready.service, ready.name, ready.capacity) = ("stolen", "stolen", 4)
      let frames = Frames()
      frames.append(WorkerEnvelope(.ready).bytes)
      frames.append(try ready.serializedBytes() as [UInt8])
      var pack = FramePack()
      pack.append(frames, range: 0..<2)
      try worker.socket.send(WorkerEnvelope(.packed).bytes, more: true)
      try worker.socket.send(pack.bytes, more: false)
      try worker.socket.send(WorkerEnvelope(.packed).bytes, more: true)
      try worker.socket.send(Array(pack.bytes.dropLast()), more: false)
      try mesh.waitForStatus("two malformed packs counted, nothing registered from them") { status in
        status.malformed.first { $0.kind == "worker: malformed PACKED" }?.count == 2 && !status.services.contains { $0.name == "stolen" }
      }

      let client = try mesh.client()
      try client.send(id: 5, service: EchoService.name, method: EchoService.echo.name, timeoutMs: 5_000, body: [5])
      let packed = try #require(try worker.receive(within: 2_000))
      #expect(try WorkerEnvelope(frames: packed).command == .packed)
      try worker.answerPacked(try Peer.unpack(packed[1]))
      let reply = try #require(try client.reply(within: 2_000))
      #expect(reply.status == .ok && reply.requestID == 5 && reply.body == [[5]])
    }
  }

  /// The gateway reads a worker's packed replies in place: every layout reaches its
  /// client as sent (header in the envelope's frame or its own; no body, one frame,
  /// several), and a pack from a worker that has not registered gets it told to register.
  @Test(arguments: [false, true]) func packedRepliesReachTheirClientsAsSent(inlineHeaders: Bool) async throws {
    try await InProcessMesh.with { mesh in
      let worker = try mesh.worker(name: "echo", inlineHeaders: inlineHeaders, readsPacked: true)
      let client = try mesh.client()
      for id in 1...3 as ClosedRange<UInt64> {
        try client.send(id: id, service: EchoService.name, method: EchoService.echo.name, timeoutMs: 5_000, body: [UInt8(id)])
      }
      var requests: [[[UInt8]]] = []
      while requests.count < 3, let message = try worker.receive(within: 2_000) {
        requests += try WorkerEnvelope(frames: message).command == .packed ? try Peer.unpack(message[1]) : [message]
      }
      #expect(requests.count == 3)
      let bodies: [UInt64: [[UInt8]]] = [1: [], 2: [[2]], 3: [[3], [], Array(repeating: 3, count: 5_000)]]
      let ids = try requests.map { try Peer.requestHeader(of: $0).requestID }
      try worker.answerPacked(requests, bodies: ids.map { bodies[$0]! })
      var answered: Set<UInt64> = []
      for _ in 0..<3 {
        let reply = try #require(try client.reply(within: 2_000))
        #expect(reply.status == .ok && reply.workerID == "echo" && reply.body == bodies[reply.requestID])
        answered.insert(reply.requestID)
      }
      #expect(answered == [1, 2, 3])

      let stranger = try Peer(mesh.context, connecting: mesh.endpoints.backend)
      try stranger.answerPacked(requests)
      let told = try #require(try stranger.receive(within: 2_000))
      #expect(try WorkerEnvelope(frames: told).command == .disconnect)
      #expect(try client.reply(within: 200) == nil)
    }
  }

  @Test(arguments: [false, true]) func aClientsPackIsReadRequestByRequestAndSmallRepliesGoBackPacked(workerPacks: Bool) async throws {
    try await InProcessMesh.with { mesh in
      let worker = try mesh.worker(name: "echo", capacity: 8, readsPacked: workerPacks)
      let client = try mesh.client()
      let large = [UInt8](repeating: 3, count: 5_000)
      // Two small calls, one whose reply is too large to pack, one for a method echo lacks,
      // and one whose header does not parse.
      try client.sendPacked([
        try Peer.requestFrames(id: 1, body: [1]), try Peer.requestFrames(id: 2, body: [2]), try Peer.requestFrames(id: 3, body: large),
        try Peer.requestFrames(id: 4, method: "nope", body: [4]), [[0x0a, 0xff, 0xff]],
      ])
      var requests: [[[UInt8]]] = []
      while requests.count < 3, let message = try worker.receive(within: 2_000) {
        requests += try WorkerEnvelope(frames: message).command == .packed ? try Peer.unpack(message[1]) : [message]
      }
      #expect(try requests.map { try Peer.requestHeader(of: $0).requestID } == [1, 2, 3])
      if workerPacks {
        try worker.answerPacked(requests)
      } else {
        for request in requests { try worker.answer(request, body: request.last!) }
      }
      var replies: [UInt64: (status: StatusCode, body: [[UInt8]], packed: Bool)] = [:]
      var refusals: [StatusCode] = []
      while replies.count < 4 || refusals.isEmpty, let message = try client.receive(within: 2_000) {
        let packed = message[0] == Signature.clientPacked
        for reply in packed ? try Peer.unpack(message[1]) : [Array(message.dropFirst())] {
          let header = try ResponseHeader(serializedBytes: reply[0])
          if header.requestID == 0 {
            refusals.append(StatusCode(wireValue: header.status))
          } else {
            replies[header.requestID] = (StatusCode(wireValue: header.status), Array(reply.dropFirst()), packed)
          }
        }
      }
      #expect(replies[1]?.status == .ok && replies[1]?.body == [[1]] && replies[1]?.packed == true)
      #expect(replies[2]?.status == .ok && replies[2]?.body == [[2]] && replies[2]?.packed == true)
      #expect(replies[3]?.status == .ok && replies[3]?.body == [large] && replies[3]?.packed == false)
      #expect(replies[4]?.status == .notFound)
      #expect(refusals == [.invalidArgument])

      // A pack that does not parse is refused whole; a plain request still gets a plain reply.
      try client.socket.send(Signature.clientPacked, more: true)
      try client.socket.send([9, 0, 0, 0, 1], more: false)
      #expect(try client.reply(within: 2_000)?.status == .invalidArgument)
      try client.send(id: 7, service: EchoService.name, method: EchoService.echo.name, timeoutMs: 2_000, body: [7])
      let message = try #require(try worker.receive(within: 2_000))
      let request = try WorkerEnvelope(frames: message).command == .packed ? try #require(try Peer.unpack(message[1]).first) : message
      try worker.answer(request, body: [7])
      let plain = try #require(try client.receive(within: 2_000))
      #expect(plain[0] == Signature.client && plain.count == 3 && plain[2] == [7])
      // Status counts the pack that parsed and the five requests read from it.
      try mesh.waitForStatus("one client pack of five requests counted") { $0.clientPacks == 1 && $0.packedRequests == 5 }
    }
  }

  @Test func anIdempotentRequestOnASilentWorkerIsSentToAnotherOne() async throws {
    try await InProcessMesh.with { mesh in
      // Heartbeats every 20 ms: silent for three intervals, the first worker is evicted.
      let first = try mesh.worker(name: "first", heartbeatMs: 20)
      let client = try mesh.client()
      try client.send(id: 7, service: EchoService.name, method: EchoService.echo.name, timeoutMs: 5_000, idempotent: true, body: Array("hi".utf8))
      #expect(try first.receive(within: 2_000) != nil)
      let second = try mesh.worker(name: "second", heartbeatMs: 20)
      let redispatched = try #require(try second.receiveRequest(heartbeating: 20, within: 3_000))
      try second.answer(redispatched, body: Array("from second".utf8))
      let reply = try #require(try client.reply(within: 2_000))
      #expect(reply.status == .ok)
      #expect(reply.workerID == "second")
      #expect(reply.body == [Array("from second".utf8)])
    }
  }

  /// A worker whose connection closed is still registered (heartbeats are a minute
  /// apart), so the gateway picks it; its socket refuses the request (nothing sent), and
  /// the request, though not idempotent, goes to the other worker. Packed, it is found in
  /// the refused pack by its dispatch id.
  @Test(arguments: [false, true]) func aRequestRefusedByAVanishedWorkersConnectionGoesToAnotherWorker(packed: Bool) async throws {
    try await InProcessMesh.with { mesh in
      let vanished = try mesh.worker(name: "vanished", inlineHeaders: packed, readsPacked: packed)
      let second = try mesh.worker(name: "second")
      vanished.socket.close()
      try await Task.sleep(for: .milliseconds(100))  // the gateway's ROUTER sees the pipe end
      let client = try mesh.client()
      try client.send(id: 3, service: EchoService.name, method: EchoService.echo.name, timeoutMs: 5_000, body: Array("hi".utf8))
      let request = try #require(try second.receive(within: 2_000))
      try second.answer(request, body: Array("from second".utf8))
      let reply = try #require(try client.reply(within: 2_000))
      #expect(reply.status == .ok && reply.requestID == 3)
      #expect(reply.workerID == "second")
    }
  }

  /// One client's requests past its budget are refused at once; another client is not.
  @Test func aClientPastItsInFlightBudgetGetsResourceExhaustedAndOthersDoNot() async throws {
    try await InProcessMesh.with({ $0.maxInFlightPerClient = 3 }) { mesh in
      let worker = try mesh.worker(name: "holder", capacity: 8)
      let greedy = try mesh.client()
      for id in 1...4 as ClosedRange<UInt64> {
        try greedy.send(id: id, service: EchoService.name, method: EchoService.echo.name, timeoutMs: 5_000, body: [1])
      }
      let refused = try #require(try greedy.reply(within: 2_000))
      #expect(refused.status == .resourceExhausted && refused.requestID == 4)
      var held: [[[UInt8]]] = []
      for _ in 0..<3 { held.append(try #require(try worker.receive(within: 2_000))) }
      let other = try mesh.client()
      try other.send(id: 1, service: EchoService.name, method: EchoService.echo.name, timeoutMs: 5_000, body: [2])
      let others = try #require(try worker.receive(within: 2_000))
      try worker.answer(others, body: [2])
      #expect(try other.reply(within: 2_000)?.status == .ok)
      // One reply frees one place in the greedy client's budget.
      try worker.answer(held[0], body: [1])
      #expect(try greedy.reply(within: 2_000)?.status == .ok)
      try greedy.send(id: 5, service: EchoService.name, method: EchoService.echo.name, timeoutMs: 5_000, body: [1])
      #expect(try worker.receive(within: 2_000) != nil)
    }
  }

  /// While one client's 5,000 requests wait for a busy worker, another client's requests
  /// are served after a few of them, not after all: the queue takes turns.
  @Test func aFloodingClientDoesNotStarveAnother() async throws {
    try await InProcessMesh.with({ ($0.queueLimit, $0.maxInFlightPerClient) = (10_000, 10_000) }) { mesh in
      let worker = try mesh.worker(name: "one-at-a-time", capacity: 1)
      let flood = try mesh.client()
      for id in 1...5_000 as ClosedRange<UInt64> {
        try flood.send(id: id, service: EchoService.name, method: EchoService.echo.name, timeoutMs: 60_000, body: [0])
      }
      try mesh.waitUntilQueued(4_999)
      let other = try mesh.client()
      for id in 1...3 as ClosedRange<UInt64> {
        try other.send(id: 100_000 + id, service: EchoService.name, method: EchoService.echo.name, timeoutMs: 60_000, body: [1])
      }
      try mesh.waitUntilQueued(5_002)
      // Serve requests one by one and note when the other client's replies come.
      var served = 0
      var otherDone: [Int] = []
      while otherDone.count < 3 && served < 100 {
        let request = try #require(try worker.receive(within: 2_000))
        try worker.answer(request, body: [])
        served += 1
        if try RequestHeader(serializedBytes: request[1]).requestID > 100_000 { otherDone.append(served) }
      }
      #expect(otherDone.count == 3, "the other client's requests waited behind the flood")
      #expect(otherDone.last ?? .max <= 8, "served at \(otherDone)")
    }
  }

  @Test func malformedClientMessagesGetInvalidArgumentAndTheGatewayKeepsServing() async throws {
    try await InProcessMesh.with { mesh in
      let worker = try mesh.worker(name: "echo")
      let client = try mesh.client()
      // A header frame that is not a RequestHeader.
      try client.socket.send(Signature.client, more: true)
      try client.socket.send([0x0a, 0xff, 0xff], more: false)
      let garbage = try #require(try client.reply(within: 2_000))
      #expect(garbage.status == .invalidArgument)
      // No header at all.
      try client.socket.send(Signature.client, more: false)
      #expect(try client.reply(within: 2_000)?.status == .invalidArgument)
      // Another side's signature.
      try client.socket.send(Array("WFW\u{01}".utf8), more: true)
      try client.socket.send([0], more: false)
      #expect(try client.reply(within: 2_000)?.status == .invalidArgument)
      // A good request still goes through.
      try client.send(id: 9, service: EchoService.name, method: EchoService.echo.name, timeoutMs: 2_000, body: [42])
      let request = try #require(try worker.receive(within: 2_000))
      try worker.answer(request, body: [42])
      let reply = try #require(try client.reply(within: 2_000))
      #expect(reply.status == .ok && reply.requestID == 9 && reply.body == [[42]])
    }
  }
}

/// A gateway on `inproc://` endpoints and bare sockets in the same context.
private struct InProcessMesh {
  let context: Context
  let endpoints: Gateway.Endpoints

  /// Runs `body` against a fresh gateway, then stops it.
  static func with(
    _ configure: (inout GatewayConfiguration) -> Void = { _ in }, _ body: (InProcessMesh) async throws -> Void
  ) async throws {
    let context = try Context()
    let name = UUID().uuidString
    var configuration = GatewayConfiguration(
      frontend: "inproc://front-\(name)", backend: "inproc://back-\(name)", heartbeatInterval: .milliseconds(20),
      drainTimeout: .zero)
    configuration.name = "in-process"
    configure(&configuration)
    let bound = AsyncStream.makeStream(of: Gateway.Endpoints.self)
    let gateway = try Gateway(
      configuration: configuration, context: context, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    ) { endpoints in
      bound.continuation.yield(endpoints)
    }
    let running = Task { try await gateway.run() }
    defer {
      gateway.shutdown()
      running.cancel()
    }
    var iterator = bound.stream.makeAsyncIterator()
    guard let endpoints = await iterator.next() else { throw GatewayTestFailure("the gateway did not bind") }
    try await body(InProcessMesh(context: context, endpoints: endpoints))
    gateway.shutdown()
    _ = try? await running.value
  }

  func client() throws -> Peer { try Peer(context, connecting: endpoints.frontend) }

  /// Asks the gateway for its status until `count` requests wait in echo's queue.
  func waitUntilQueued(_ count: Int) throws {
    try waitForStatus("\(count) requests queued") { ($0.services.first { $0.name == EchoService.name }?.queueDepth ?? 0) >= count }
  }

  /// Asks the gateway for its status until `name` is among its workers.
  func waitUntilRegistered(_ name: String) throws {
    try waitForStatus("worker \(name) registered") { status in
      status.services.contains { $0.versions.contains { $0.workers.contains { $0.name == name } } }
    }
  }

  /// Asks the gateway for its status until `condition` holds, for up to 10 s.
  func waitForStatus(_ what: String, _ condition: (MeshStatus) -> Bool) throws {
    let asker = try client()
    let deadline = ContinuousClock.now + .seconds(10)
    var id: UInt64 = 1_000
    while ContinuousClock.now < deadline {
      id += 1
      try asker.send(id: id, service: WeftMeshService.name, method: WeftMeshService.status.name, timeoutMs: 1_000, body: nil)
      if let reply = try asker.reply(within: 1_000), let body = reply.body.first,
        let status = try? MeshStatus(serializedBytes: body), condition(status)
      {
        return
      }
    }
    throw GatewayTestFailure("timed out waiting until \(what)")
  }

  /// A worker of `echo` that has registered.
  /// `inlineHeaders`: it says it reads REQUESTs with the header in the envelope's frame.
  /// `readsPacked`: it says it reads PACKED messages.
  func worker(
    name: String, heartbeatMs: UInt32 = 60_000, capacity: UInt32 = 4, inlineHeaders: Bool = false, readsPacked: Bool = false
  ) throws -> Peer {
    let peer = try Peer(context, connecting: endpoints.backend)
    peer.name = name
    var ready = WorkerReady()
    ready.service = EchoService.name
    ready.version = "1"
    ready.methods = EchoService.methods.map { method in MethodDescriptor.with { $0.name = method.name } }
    ready.capacity = capacity
    ready.maxBatchSize = 1
    ready.name = name
    ready.heartbeatIntervalMs = heartbeatMs
    ready.inlineHeaders = inlineHeaders
    ready.readsPacked = readsPacked
    try peer.socket.send(WorkerEnvelope(.ready).bytes, more: true)
    try peer.socket.send(try ready.serializedBytes(), more: false)
    try waitUntilRegistered(name)
    return peer
  }
}

/// A DEALER playing a client or a worker.
private final class Peer {
  let socket: Socket
  /// As a worker, the name it registered and answers with.
  var name = ""
  private let frames = Frames(capacity: 16)

  init(_ context: Context, connecting endpoint: String) throws {
    socket = try Socket.dealer(context, connecting: [endpoint])
    socket.linger = 0
  }

  /// The next message's frames, or nil if none comes within `milliseconds`; a worker's
  /// heartbeats and limit confirmations (CREDIT) from the gateway are skipped.
  func receive(within milliseconds: Int) throws -> [[UInt8]]? {
    let deadline = ContinuousClock.now + .milliseconds(milliseconds)
    var poller = Poller()
    _ = try poller.add(socket)
    while ContinuousClock.now < deadline {
      let left = deadline - ContinuousClock.now
      guard try poller.wait(timeoutMilliseconds: max(1, Int(left.components.seconds * 1_000 + left.components.attoseconds / 1_000_000_000_000_000))) > 0,
        try socket.receive(into: frames, wait: false)
      else { continue }
      let message = (0..<frames.count).map { frames.bytes(at: $0) }
      if let envelope = try? WorkerEnvelope(frames: message), [.heartbeat, .credit].contains(envelope.command) { continue }
      return message
    }
    return nil
  }

  /// As a worker: heartbeats every `interval` ms until a REQUEST comes.
  func receiveRequest(heartbeating interval: Int, within milliseconds: Int) throws -> [[UInt8]]? {
    let deadline = ContinuousClock.now + .milliseconds(milliseconds)
    while ContinuousClock.now < deadline {
      try socket.send(WorkerEnvelope(.heartbeat).bytes, more: false)
      if let message = try receive(within: interval), try WorkerEnvelope(frames: message).command == .request { return message }
    }
    return nil
  }

  /// As a client: sends a request.
  func send(
    id: UInt64, service: String, method: String, timeoutMs: UInt32, idempotent: Bool = false, body: [UInt8]?
  ) throws {
    var header = RequestHeader()
    (header.requestID, header.service, header.method, header.timeoutMs, header.idempotent) = (id, service, method, timeoutMs, idempotent)
    try socket.send(Signature.client, more: true)
    try socket.send(try header.serializedBytes(), more: body != nil)
    if let body { try socket.send(body, more: false) }
  }

  /// As a client: the frames of a request, [RequestHeader, body], as packed.
  static func requestFrames(id: UInt64, method: String = EchoService.echo.name, body: [UInt8]) throws -> [[UInt8]] {
    var header = RequestHeader()
    (header.requestID, header.service, header.method, header.timeoutMs) = (id, EchoService.name, method, 5_000)
    return [try header.serializedBytes(), body]
  }

  /// As a client: `messages` in one packed message.
  func sendPacked(_ messages: [[[UInt8]]]) throws {
    var pack = FramePack()
    for message in messages { pack.append(message: message) }
    try socket.send(Signature.clientPacked, more: true)
    try socket.send(pack.bytes, more: false)
  }

  /// As a client: the next reply.
  func reply(within milliseconds: Int) throws -> (status: StatusCode, requestID: UInt64, workerID: String, body: [[UInt8]])? {
    guard let message = try receive(within: milliseconds), message.count >= 2 else { return nil }
    let header = try ResponseHeader(serializedBytes: message[1])
    return (StatusCode(wireValue: header.status), header.requestID, header.workerID, Array(message[2...]))
  }

  /// As a worker: the FINAL reply to `request`, laid out as the request was (the
  /// header in the envelope's frame, or in its own).
  func answer(_ request: [[UInt8]], body: [UInt8]) throws {
    let final = try finalFrames(answering: request, body: body)
    for (index, frame) in final.enumerated() { try socket.send(frame, more: index < final.count - 1) }
  }

  /// As a worker: the FINALs answering `requests` in one PACKED, each with its frames of
  /// `bodies` (by default echoing the request's last frame).
  func answerPacked(_ requests: [[[UInt8]]], bodies: [[[UInt8]]]? = nil) throws {
    var pack = FramePack()
    for (index, request) in requests.enumerated() {
      let frames = Frames()
      for frame in try finalFrames(answering: request, bodies: bodies?[index] ?? [request.last ?? []]) { frames.append(frame) }
      pack.append(frames, range: 0..<frames.count)
    }
    try socket.send(WorkerEnvelope(.packed).bytes, more: true)
    try socket.send(pack.bytes, more: false)
  }

  /// As a worker: the frames of the OK FINAL answering `request` with one `body` frame.
  private func finalFrames(answering request: [[UInt8]], body: [UInt8]) throws -> [[UInt8]] {
    try finalFrames(answering: request, bodies: [body])
  }

  /// As a worker: the frames of the OK FINAL answering `request` with `bodies`.
  private func finalFrames(answering request: [[UInt8]], bodies: [[UInt8]]) throws -> [[UInt8]] {
    let envelope = try WorkerEnvelope(frames: request)
    var header = ResponseHeader()
    header.status = .ok
    header.endOfStream = true
    header.workerID = name
    header.requestID = try Self.requestHeader(of: request).requestID
    let final = WorkerEnvelope(.final, dispatchID: envelope.dispatchID, inlineHeader: envelope.hasInlineHeader)
    let encoded: [UInt8] = try header.serializedBytes()
    return (envelope.hasInlineHeader ? [final.bytes + encoded] : [final.bytes, encoded]) + bodies
  }

  /// As a worker: sets how many requests the gateway may have in flight with it (CREDIT).
  func grantCapacity(_ limit: UInt32) throws {
    try socket.send(WorkerEnvelope(.credit).bytes, more: true)
    try socket.send(CreditLimit.encode(limit), more: false)
  }

  /// The messages of a PACKED's pack frame.
  static func unpack(_ pack: [UInt8]) throws -> [[[UInt8]]] {
    var messages: [[[UInt8]]] = []
    try pack.withUnsafeBytes { pack in
      _ = try FramePack.validate(pack, maxFrames: 64)
      FramePack.forEachMessage(in: pack) { message in messages.append(message.map { Array($0) }) }
    }
    return messages
  }

  /// The client's header of a REQUEST, wherever its layout puts it.
  static func requestHeader(of request: [[UInt8]]) throws -> RequestHeader {
    let envelope = try WorkerEnvelope(frames: request)
    guard envelope.hasInlineHeader else { return try RequestHeader(serializedBytes: request[1]) }
    return try RequestHeader(serializedBytes: Array(request[0].dropFirst(WorkerEnvelope.longSize)))
  }
}

extension WorkerEnvelope {
  /// The envelope of a received worker-side message.
  fileprivate init(frames: [[UInt8]]) throws {
    guard let first = frames.first else { throw GatewayTestFailure("an empty message") }
    self = try first.withUnsafeBytes { try WorkerEnvelope(decoding: $0) }
  }
}

private struct GatewayTestFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
