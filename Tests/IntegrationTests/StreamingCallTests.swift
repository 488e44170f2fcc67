import Foundation
import SwiftProtobuf
import Testing
import WeftClient
import WeftModels
import WeftProtocol
import ZeroMQ

/// Calls that stay open, through a real gateway and real workers: live speech equal to
/// `speech/detect`, many sessions at once, flow control both ways, and how a call ends
/// on cancel, deadline, a killed worker and a killed client.
@Suite(.serialized) struct StreamingCallTests {
  static let fixtures = SpeechServiceTests.directory
  static let files = ["speech-pauses-16k.wav", "speech-22k.wav", "speech-stereo-f32.wav", "noise-16k.wav", "silence-16k.wav"]

  /// A WAV file as `detect.live` pieces of `milliseconds` each, FLOAT32 at its own rate.
  static func pieces(_ name: String, milliseconds: Double, probabilities: Bool = true) throws -> [Weft_V1_LiveAudio] {
    let audio = try WAVFile.decode(try Data(contentsOf: fixtures.appendingPathComponent(name)))
    let step = max(1, Int(Double(audio.sampleRate) * milliseconds / 1_000))
    var pieces = stride(from: 0, to: audio.samples.count, by: step).map { start in
      Weft_V1_LiveAudio.with { $0.samples = audio.samples[start..<min(start + step, audio.samples.count)].withUnsafeBytes { Data($0) } }
    }
    pieces[0].sampleRate = UInt32(audio.sampleRate)
    pieces[0].includeProbabilities = probabilities
    return pieces
  }

  /// Runs one live call; returns its responses.
  static func live(_ client: WeftClient, _ pieces: [Weft_V1_LiveAudio]) async throws -> [Weft_V1_DetectResponse] {
    var responses: [Weft_V1_DetectResponse] = []
    for try await response in try client.detectSpeechLive(pieces.async) { responses.append(response) }
    return responses
  }

  static func segments(_ responses: [Weft_V1_DetectResponse]) -> [[UInt64]] {
    responses.flatMap(\.segments).map { [$0.startSample, $0.endSample] }
  }

  @Test func liveDetectionEqualsDetectOnTheWholeRecording() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "speech-1", ["--model", "speech"])
    for name in Self.files {
      let whole = try await mesh.client.detectSpeech(wav: try Data(contentsOf: Self.fixtures.appendingPathComponent(name)))
      let expected = try whole.probabilities.float32Values()
      // 1 ms pieces on one file only: ten thousand messages take a while.
      let sizes: [Double] = name == "speech-22k.wav" ? [1, 7, 100, 1_000, 5_000] : [7, 100, 1_000, 5_000]
      for milliseconds in sizes {
        let responses = try await Self.live(mesh.client, try Self.pieces(name, milliseconds: milliseconds))
        #expect(Self.segments(responses) == whole.segments.map { [$0.startSample, $0.endSample] }, "\(name), \(milliseconds) ms pieces")
        let probabilities = try responses.filter(\.hasProbabilities).flatMap { try $0.probabilities.float32Values() }
        #expect(probabilities.count == expected.count, "\(name), \(milliseconds) ms")
        let worst = zip(probabilities, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-4, "\(name), \(milliseconds) ms: \(worst)")
        #expect(abs((responses.last?.duration ?? 0) - whole.duration) < 1e-9)
      }
    }
  }

  @Test func aHundredLiveSessionsAtOnce() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "speech-1", ["--model", "speech", "--capacity", "128"])
    let names = Self.files
    let expected = try await names.asyncMap { name in
      try await mesh.client.detectSpeech(wav: try Data(contentsOf: Self.fixtures.appendingPathComponent(name))).segments
        .map { [$0.startSample, $0.endSample] }
    }
    let pieces = try names.map { try Self.pieces($0, milliseconds: 100, probabilities: false) }
    let client = mesh.client
    let results = try await withThrowingTaskGroup(of: (Int, [[UInt64]]).self) { group in
      for session in 0..<100 {
        group.addTask { (session, Self.segments(try await Self.live(client, pieces[session % names.count]))) }
      }
      return try await group.reduce(into: [Int: [[UInt64]]]()) { $0[$1.0] = $1.1 }
    }
    #expect(results.count == 100)
    for (session, segments) in results { #expect(segments == expected[session % names.count], "session \(session)") }
  }

  @Test func aFastSenderIsSlowedByFlowControlWithoutLoss() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "echo-1", ["--model", "echo"])
    let call = try mesh.client.openCall(EchoService.name, EchoService.chat.name, options: CallOptions(metadata: [EchoModel.delayKey: .text("5")]))
    let started = ContinuousClock.now
    let count = 200
    let sender = Task {
      for index in 0..<count { try await call.send([Data("\(index)".utf8)]) }
      call.closeSend()
      return ContinuousClock.now - started
    }
    var echoed: [String] = []
    for try await response in call.responses where !response.isFinal { echoed.append(String(decoding: response.body[0], as: UTF8.self)) }
    let sendTime = try await sender.value
    #expect(echoed == (0..<count).map(String.init), "every message, in order")
    // 200 messages at 5 ms each take 1 s to echo; with a window of 8 the sender cannot be
    // more than 8 ahead, so sending alone takes nearly as long.
    #expect(sendTime >= .milliseconds(900), "the sender was not held back: \(sendTime)")
    // At full speed, many more than any window, still every message in order.
    let quick = try mesh.client.openCall(EchoService.name, EchoService.chat.name)
    let many = 5_000
    Task {
      for index in 0..<many { try await quick.send([Data("\(index)".utf8)]) }
      quick.closeSend()
    }
    var quickEchoes: [String] = []
    for try await response in quick.responses where !response.isFinal { quickEchoes.append(String(decoding: response.body[0], as: UTF8.self)) }
    #expect(quickEchoes == (0..<many).map(String.init))
  }

  @Test func aClientIgnoringItsWindowIsRefused() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "echo-1", ["--model", "echo"])
    let raw = try RawClient(frontend: mesh.frontend)
    var open = RequestHeader()
    open.requestID = 7
    open.service = EchoService.name
    open.method = EchoService.chat.name
    open.metadata = [EchoModel.delayKey: .text("200")]
    try raw.send(open, body: [])
    var message = RequestHeader()
    message.requestID = 7
    message.frame = .message
    for _ in 0..<(CallWindow.initialMessages + 4) { try raw.send(message, body: [[1, 2, 3]]) }
    let final = try raw.receiveFinal(requestID: 7, timeout: .seconds(10))
    #expect(StatusCode(wireValue: final.status) == .resourceExhausted)
    #expect(final.message.contains("flow control"), "\(final.message)")
  }

  @Test func aReaderThatStopsReadingIsEnded() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "echo-1", ["--model", "echo", "--stream-stall-timeout-ms", "1000"])
    let raw = try RawClient(frontend: mesh.frontend)
    var open = RequestHeader()
    open.requestID = 9
    open.service = EchoService.name
    open.method = EchoService.chat.name
    open.credit = 2  // room for two responses, and never more
    try raw.send(open, body: [])
    var message = RequestHeader()
    message.requestID = 9
    message.frame = .message
    for _ in 0..<CallWindow.initialMessages { try raw.send(message, body: [[UInt8](repeating: 7, count: 1_000)]) }
    var partials = 0
    let final = try raw.receiveFinal(requestID: 9, timeout: .seconds(10)) { header in
      if !header.flowControl { partials += 1 }
    }
    #expect(partials == 2, "only what the client had room for was sent")
    #expect(StatusCode(wireValue: final.status) == .resourceExhausted)
    #expect(final.message.contains("read no response"), "\(final.message)")
    try await mesh.waitUntil("the worker's slot is free") { $0.worker(named: "echo-1")?.inFlight == 0 }
  }

  @Test func cancelDeadlineAndAKilledWorkerEndTheCall() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "echo-1", ["--model", "echo"])

    let cancelled = try mesh.client.openCall(EchoService.name, EchoService.chat.name)
    try await cancelled.send([Data("a".utf8)])
    var iterator = cancelled.responses.makeAsyncIterator()
    _ = try await iterator.next()
    cancelled.cancel()
    await #expect(throws: WeftError.self) { while try await iterator.next() != nil {} }
    try await mesh.waitUntil("the cancelled call's slot is free") { $0.worker(named: "echo-1")?.inFlight == 0 }

    let late = try mesh.client.openCall(EchoService.name, EchoService.chat.name, options: CallOptions(timeout: .milliseconds(500)))
    try await late.send([Data("b".utf8)])
    do {
      for try await _ in late.responses {}
      Issue.record("an open call outlived its deadline")
    } catch let error as WeftError {
      #expect(error.code == .deadlineExceeded)
    }
    try await mesh.waitUntil("the expired call's slot is free") { $0.worker(named: "echo-1")?.inFlight == 0 }

    let orphan = try mesh.client.openCall(EchoService.name, EchoService.chat.name)
    try await orphan.send([Data("c".utf8)])
    var orphanResponses = orphan.responses.makeAsyncIterator()
    _ = try await orphanResponses.next()
    mesh.worker(named: "echo-1")?.signal(SIGKILL)
    do {
      while try await orphanResponses.next() != nil {}
      Issue.record("the call went on without its worker")
    } catch let error as WeftError {
      #expect(error.code == .unavailable)
      #expect(error.message.contains("not moved"), "\(error.message)")
    }
  }

  @Test func aDrainingGatewayLetsAnOpenCallFinish() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "echo-1", ["--model", "echo"])
    let call = try mesh.client.openCall(EchoService.name, EchoService.chat.name)
    var responses = call.responses.makeAsyncIterator()
    try await call.send([Data("before".utf8)])
    _ = try await responses.next()
    mesh.gateway.signal(SIGTERM)
    try await Task.sleep(for: .milliseconds(300))  // the gateway is draining: new calls are refused
    await #expect(throws: WeftError.self) { _ = try await mesh.client.call("echo", "echo", body: [Data("new".utf8)]) }
    try await call.send([Data("during".utf8)])
    call.closeSend()
    var rest: [String] = []
    while let response = try await responses.next() {
      if !response.isFinal { rest.append(String(decoding: response.body[0], as: UTF8.self)) }
    }
    #expect(rest == ["during"], "the open call went on through the drain")
    #expect(await mesh.gateway.waitForExit(timeout: .seconds(10)) != nil, "the gateway exits once the call is done")
  }

  @Test func aKilledClientFreesTheWorkersSession() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "speech-1", ["--model", "speech"])
    let wav = Self.fixtures.appendingPathComponent("speech-pauses-16k.wav").path
    let client = try MeshProcess(["call", "speech.detect.live", "--audio", wav, "--realtime", "--gateway", mesh.frontend, "--timeout-ms", "60000"])
    _ = try await client.waitForLine(prefix: "OK from")
    try await mesh.waitUntil("the live call runs") { $0.worker(named: "speech-1")?.inFlight == 1 }
    client.signal(SIGKILL)
    try await mesh.waitUntil("the killed client's call is ended", timeout: .seconds(10)) { $0.worker(named: "speech-1")?.inFlight == 0 }
  }
}

/// A bare DEALER speaking the client protocol, for clients that break its rules.
final class RawClient {
  let socket: Socket
  private let received = Frames(capacity: 8)

  init(frontend: String) throws {
    socket = try Socket(context: try Context(), type: .dealer)
    try socket.connect(frontend)
  }

  deinit { socket.close() }

  func send(_ header: RequestHeader, body: [[UInt8]]) throws {
    try socket.send(Signature.client, more: true)
    try socket.send(try header.serializedBytes(), more: !body.isEmpty)
    for (index, frame) in body.enumerated() { try socket.send(frame, more: index < body.count - 1) }
  }

  /// Reads responses to `requestID` until its final one, showing each header to `each`.
  func receiveFinal(requestID: UInt64, timeout: Duration, each: (ResponseHeader) -> Void = { _ in }) throws -> ResponseHeader {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      var poller = Poller()
      _ = try poller.add(socket)
      try poller.wait(timeoutMilliseconds: 100)
      while try socket.receive(into: received, wait: false) {
        let header = try ResponseHeader(serializedBytes: Data(received[1]))
        guard header.requestID == requestID else { continue }
        if header.endOfStream { return header }
        each(header)
      }
    }
    throw TestFailure("no final response to request \(requestID) within \(timeout)")
  }
}

extension Array where Element: Sendable {
  fileprivate var async: AsyncStream<Element> {
    AsyncStream { continuation in
      for element in self { continuation.yield(element) }
      continuation.finish()
    }
  }

  fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
    var result: [T] = []
    for element in self { result.append(try await transform(element)) }
    return result
  }
}
