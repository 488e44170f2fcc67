import Foundation
import Synchronization
import Testing
import WeftProtocol

@testable import WeftClient

/// The C and Python clients (`clients/`) against a real mesh, and the three clients'
/// request headers compared byte for byte.
@Suite(.serialized) struct ClientLibraryTests {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  /// The Python with pyzmq, protobuf and numpy that `scripts/setup-clients.sh` makes.
  static var python: String {
    ProcessInfo.processInfo.environment["WEFT_PYTHON"]
      ?? repository.appendingPathComponent(".build-python/venv/bin/python").path
  }

  private static let cBuilt = Mutex(false)

  /// Builds libweft-client and its programs with make (once per run); returns the example.
  static func cExample() async throws -> String {
    try await cProgram("weft-example")
  }

  /// Builds libweft-client and its programs with make (once per run); returns `name`.
  static func cProgram(_ name: String) async throws -> String {
    if !cBuilt.withLock({ $0 }) {
      let make = try await MeshProcess.run(
        ["make", "-C", repository.appendingPathComponent("clients/c").path], executable: "/usr/bin/env",
        timeout: .seconds(180))
      guard make.status == 0 else { throw TestFailure("building clients/c failed: \(make.stderr)") }
      cBuilt.withLock { $0 = true }
    }
    return repository.appendingPathComponent("clients/c/build/\(name)").path
  }

  static func requirePython() throws {
    guard FileManager.default.isExecutableFile(atPath: python) else {
      throw TestFailure("no Python for the client tests at \(python): run scripts/setup-clients.sh (scripts/test.sh does)")
    }
  }

  /// A mesh with the workers the clients' tests call: echo, sleep, text, vision and speech.
  static func mesh() async throws -> TestMesh {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "echo-1", ["--model", "echo"])
    try await mesh.startWorker(name: "sleep-1", ["--model", "sleep", "--latency-ms", "1", "--capacity", "8"])
    try await mesh.startWorker(name: "text-1", ["--model", "text"])
    try await mesh.startWorker(name: "vision-1", ["--model", "vision"])
    try await mesh.startWorker(name: "speech-1", ["--model", "speech"])
    return mesh
  }

  @Test func swiftCAndPythonEncodeTheSameRequestHeader() async throws {
    let options = CallOptions(
      timeout: .milliseconds(1_500),
      metadata: ["trace": .text("t-1"), "blob-bin": .binary([0x00, 0x01, 0xfe, 0xff]), "a": .text("ü")],
      userID: "user-42", version: "v2", idempotent: true, personalize: true, priority: 7)
    let swift = try WeftClient.encodeHeader(id: 123_456_789_012, service: "text", method: "embed", options: options)
    let swiftHex = swift.map { String(format: "%02x", $0) }.joined()

    let c = try await MeshProcess.run(["header"], executable: try await Self.cExample())
    #expect(c.status == 0)
    #expect(c.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == swiftHex)

    try Self.requirePython()
    let script = """
      from weft_client import CallOptions, encode_header
      print(encode_header(123456789012, "text", "embed", CallOptions(timeout=1.5, personalize=True, version="v2",
            user_id="user-42", priority=7, metadata={"trace": "t-1", "blob-bin": bytes([0, 1, 0xfe, 0xff]), "a": "ü"})).hex())
      """
    let python = try await MeshProcess.run(
      ["-c", script], executable: Self.python,
      environment: ["PYTHONPATH": Self.repository.appendingPathComponent("clients/python").path])
    #expect(python.status == 0, "\(python.stderr)")
    #expect(python.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == swiftHex)
  }

  @Test func cExampleCallsEachKindOfMethod() async throws {
    let example = try await Self.cExample()
    let mesh = try await Self.mesh()
    func run(_ arguments: String...) async throws -> (status: Int32, stdout: String) {
      let result = try await MeshProcess.run(["-g", mesh.frontend] + arguments, executable: example)
      return (result.status, result.stdout)
    }

    let echo = try await run("echo", "hello", "wörld")
    #expect(echo.status == 0)
    #expect(echo.stdout.contains(#""frames":["hello","wörld"],"metadata":{"example":"c"}"#), "\(echo.stdout)")

    let stream = try await run("stream", "a", "b")
    #expect(stream.status == 0)
    #expect(stream.stdout.split(separator: "\n").count == 3, "\(stream.stdout)")  // 2 partials, 1 final
    #expect(stream.stdout.contains(#""end_of_stream":false,"frames":["b"]"#))

    // A call that stays open: sends and reads interleaved on one thread, flow control both ways.
    let chat = try await run("chat", "5000")
    #expect(chat.status == 0 && chat.stdout.contains(#""status":"OK","sent":5000,"received":5000,"in_order":1"#), "\(chat.stdout)")

    let embed = try await run("embed", "A man is eating food.", "A car drives.")
    #expect(embed.status == 0)
    let vectors = try JSONDecoder().decode(Embeddings.self, from: Data(embed.stdout.utf8)).embeddings
    let swift = try await mesh.client.embed(["A man is eating food.", "A car drives."])
    #expect(vectors.count == 2 && vectors.allSatisfy { $0.count == 384 })
    // The C example prints 7 significant digits.
    #expect(zip(vectors.joined(), swift.joined()).allSatisfy { abs($0 - $1) < 1e-6 })

    let similarity = try await run("similarity", "food", "A man is eating food.", "A car drives.")
    #expect(similarity.status == 0 && similarity.stdout.contains(#""scores":["#))

    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("WeftModelsTests/Fixtures")
    let classify = try await run("classify", fixtures.appendingPathComponent("vision/coffee-224.png").path)
    #expect(classify.status == 0 && classify.stdout.contains(#"{"index":967,"label":"espresso","#), "\(classify.stdout)")

    let wav = fixtures.appendingPathComponent("speech/speech-22k.wav")
    let speech = try await run("speech", wav.path)
    #expect(speech.status == 0)
    let segments = try await mesh.client.detectSpeech(wav: Data(contentsOf: wav)).segments
    let printed = segments.map { #"{"start":\#(String(format: "%.6f", $0.start)),"end":\#(String(format: "%.6f", $0.end))"# }
    #expect(segments.count == 3 && printed.allSatisfy { speech.stdout.contains($0) }, "\(speech.stdout)")
    let notWAV = try await run("speech", fixtures.appendingPathComponent("vision/coffee-224.png").path)
    #expect(notWAV.status == 1 && notWAV.stdout.contains(#""status":"INVALID_ARGUMENT","message":"bad WAV: not a RIFF/WAVE file"#))

    let status = try await run("status")
    #expect(status.status == 0)
    for service in ["echo", "sleep", "text", "vision", "speech"] { #expect(status.stdout.contains(#"{"name":"\#(service)","workers":1}"#)) }

    let many = try await run("many", "400")
    #expect(many.status == 0)
    #expect(many.stdout.contains(#""received":400,"ok":400,"mismatched":0"#), "\(many.stdout)")

    // A cancel reaches the gateway, which counts it (and tells the worker).
    let cancelsBefore = try await mesh.status().cancelledByClients
    let cancelled = try await run("cancel", "1500")
    #expect(cancelled.status == 0 && cancelled.stdout.contains(#""cancelled":1"#), "\(cancelled.stdout)")
    try await mesh.waitUntil("the gateway counts the C client's cancel", timeout: .seconds(5)) {
      $0.cancelledByClients == cancelsBefore + 1
    }

    let late = try await run("sleep", "2000", "150")
    #expect(late.status == 1 && late.stdout.contains(#""status":"DEADLINE_EXCEEDED""#), "\(late.stdout)")

    let unknown = try await run("call", "no-such-service", "run")
    #expect(unknown.status == 1 && unknown.stdout.contains(#""status":"UNAVAILABLE""#), "\(unknown.stdout)")

    let malformed = try await run("malformed")
    #expect(malformed.status == 0 && malformed.stdout.contains(#""status":"INVALID_ARGUMENT""#), "\(malformed.stdout)")
  }

  @Test func cClientEndsACallAtItsDeadlineWithNoGateway() async throws {
    let example = try await Self.cExample()
    let start = ContinuousClock.now
    let result = try await MeshProcess.run(["-g", "tcp://127.0.0.1:1", "sleep", "10", "200"], executable: example)
    #expect(result.status == 1)
    #expect(result.stdout.contains(#""status":"DEADLINE_EXCEEDED""#))
    #expect(ContinuousClock.now - start < .seconds(3))
  }

  @Test func pythonClientTestsPassAgainstALiveMesh() async throws {
    try Self.requirePython()
    let mesh = try await Self.mesh()
    let store = FileManager.default.temporaryDirectory.appendingPathComponent("weft-python-\(UUID().uuidString).sqlite").path
    defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + suffix) } }
    try await mesh.startRecommender(name: "recommender", ["--store", store])
    let python = Self.repository.appendingPathComponent("clients/python")
    let result = try await MeshProcess.run(
      ["-m", "unittest", "discover", "-s", python.appendingPathComponent("tests").path, "-v"], executable: Self.python,
      environment: ["PYTHONPATH": python.path, "WEFT_GATEWAY": mesh.frontend], timeout: .seconds(120))
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("OK") && !result.stderr.contains("skipped"), "\(result.stderr)")
  }
}

private struct Embeddings: Decodable { let embeddings: [[Float]] }
