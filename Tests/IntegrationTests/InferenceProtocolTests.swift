import Foundation
import Testing
import WeftClient
import WeftProtocol

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// The Open Inference Protocol over HTTP on a real gateway process: the protocol's own
/// Python clients (tritonclient.http, KServe's InferenceRESTClient) get the Swift
/// client's numbers, and every bad request gets its documented status (docs/HTTP.md).
@Suite(.serialized) struct InferenceProtocolTests {
  static let fixtures = ClientLibraryTests.repository.appendingPathComponent("Tests/WeftModelsTests/Fixtures")
  static let image = fixtures.appendingPathComponent("vision/chelsea-224.png")
  static let wav = fixtures.appendingPathComponent("speech/speech-pauses-16k.wav")
  /// The texts the Python script embeds (Python/oip_clients.py, TEXTS).
  static let texts = ["a cat sits on the mat", "the stock market fell sharply"]
  /// The same worker computes every answer, but batches can differ in the last bits.
  static let tolerance: Float = 1e-5

  @Test func tritonAndKServeClientsGetTheSwiftClientsNumbers() async throws {
    try ClientLibraryTests.requirePython()
    let (mesh, base) = try await TestMesh.withHTTP()
    try await mesh.startWorker(name: "text-1", ["--model", "text"])
    try await mesh.startWorker(name: "vision-1", ["--model", "vision"])
    try await mesh.startWorker(name: "speech-1", ["--model", "speech"])

    let embedded = try await mesh.client.embedResponse(Self.texts)
    let embedding = try embedded.vectors().flatMap { $0 }
    let classified = try await mesh.client.classify(image: try Data(contentsOf: Self.image), topK: 5, includeLogits: true)
    let detected = try await mesh.client.detectSpeech(wav: try Data(contentsOf: Self.wav))
    let segments = detected.segments.flatMap { [Float($0.start), Float($0.end)] }

    let run = try await MeshProcess.run(
      [
        ClientLibraryTests.repository.appendingPathComponent("Tests/IntegrationTests/Python/oip_clients.py").path,
        String(base.dropFirst("http://".count)), Self.image.path, Self.wav.path,
      ], executable: ClientLibraryTests.python, timeout: .seconds(120))
    #expect(run.status == 0, "\(run.stderr)")
    let results = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: [String: Any]])

    for client in ["triton_binary", "triton_json", "kserve"] {
      let got = try #require(results[client], "no results from \(client)")
      func floats(_ key: String) -> [Float] { (got[key] as? [Double] ?? []).map(Float.init) }
      #expect(Self.close(floats("embedding"), embedding), "\(client): embedding")
      #expect(got["labels"] as? [String] == classified.top.map(\.label), "\(client): labels")
      #expect(Self.close(floats("probabilities"), classified.top.map(\.probability)), "\(client): probabilities")
      #expect(Self.close(floats("segments"), segments), "\(client): segments \(floats("segments")) vs \(segments)")
      #expect(Self.close(floats("speech_probabilities"), try detected.probabilities.float32Values()), "\(client): speech probabilities")
    }
    for client in ["triton_binary", "triton_json"] {
      let got = try #require(results[client])
      #expect(got["id"] as? String == "text-1", "\(client): the request id is echoed")
      #expect(got["embedding_shape"] as? [Int] == [2, 384])
      #expect(got["token_counts"] as? [Int] == embedded.tokenCounts.map(Int.init))
      #expect(got["indices"] as? [Int] == classified.top.map { Int($0.index) })
      #expect(Self.close((got["logits"] as? [Double] ?? []).map(Float.init), try classified.logits.float32Values()), "\(client): logits")
      #expect(got["model_version"] as? String == "efficientnet-lite0")
    }
    #expect(results["kserve"]?["vision_ready"] as? Bool == true)

    let triton = try #require(results["triton"])
    #expect(triton["live"] as? Bool == true && triton["ready"] as? Bool == true && triton["text_ready"] as? Bool == true)
    #expect((triton["server"] as? [String: Any])?["name"] as? String == "weft")
    let metadata = try #require(triton["text"] as? [String: Any])
    #expect(metadata["versions"] as? [String] == ["minilm-l6-v2"])
    let inputs = metadata["inputs"] as? [[String: Any]]
    #expect(inputs?.first?["name"] as? String == "text" && inputs?.first?["datatype"] as? String == "BYTES")
    let outputs = metadata["outputs"] as? [[String: Any]]
    #expect(outputs?.first?["name"] as? String == "embedding" && outputs?.first?["shape"] as? [Int] == [-1, 384])
    #expect(triton["errors"] as? [String: String] == ["unknown_model": "404", "unknown_version": "404", "wrong_datatype": "400"])
  }

  @Test func badRequestsGetTheirDocumentedStatus() async throws {
    let (mesh, base) = try await TestMesh.withHTTP(gatewayArguments: ["--max-request-bytes", "65536"])
    try await mesh.startWorker(name: "text-1", ["--model", "text"])
    try await mesh.startWorker(name: "echo-1", ["--model", "echo"])
    let text = #"{"name":"text","datatype":"BYTES","shape":[1],"data":["a cat"]}"#
    let cases: [(path: String, body: String, status: Int, error: String)] = [
      ("text/infer", #"{"inputs":[{"name":"text","#, 400, "malformed inference request: not JSON"),
      ("text/infer", #"{"inputs":{}}"#, 400, "inputs: expected"),
      ("text/infer", #"{"inputs":[{"name":"text","datatype":"FP32","shape":[1],"data":[1.5]}]}"#, 400, "is FP32; it takes BYTES"),
      ("text/infer", #"{"inputs":[{"name":"text","datatype":"BYTES","shape":[1,1],"data":["a"]}]}"#, 400, "has shape [1, 1]"),
      ("text/infer", #"{"inputs":[{"name":"text","datatype":"BYTES","shape":[2],"data":["a"]}]}"#, 400, "1 elements of data, shape [2] holds 2"),
      ("text/infer", #"{"inputs":[{"name":"text","datatype":"INT4","shape":[1],"data":[1]}]}"#, 400, "unknown datatype 'INT4'"),
      ("text/infer", #"{"inputs":[{"name":"words","datatype":"BYTES","shape":[1],"data":["a"]}]}"#, 400, "has no input 'words'"),
      ("text/infer", #"{"inputs":[\#(text)],"outputs":[{"name":"logits"}]}"#, 400, "has no output 'logits'"),
      ("text/infer", #"{"inputs":[\#(text)],"parameters":{"timeout":"soon"}}"#, 400, "parameter 'timeout' must be an integer"),
      ("echo/infer", #"{"inputs":[{"name":"input","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":9}}]}"#, 400, "runs past"),
      ("nothing/infer", #"{"inputs":[\#(text)]}"#, 404, "unknown model 'nothing'"),
      ("text/versions/9/infer", #"{"inputs":[\#(text)]}"#, 404, "no live worker of version '9'"),
      ("vision/infer", #"{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"data":["x"]}]}"#, 503, "no worker serves service 'vision'"),
      // The deadline test and its control: the same request with and without a 1 µs timeout.
      // The gateway finds it expired ("deadline exceeded"), or, when it was not quite yet,
      // the worker does ("deadline passed before the model ran"): 504 either way.
      ("text/infer", #"{"inputs":[\#(text)],"parameters":{"timeout":1}}"#, 504, "deadline"),
      ("text/infer", #"{"inputs":[\#(text)]}"#, 200, ""),
      // The size limit and its control: just under it passes.
      ("echo/infer", Self.echoBody(bytes: 70_000), 413, "over 65536 bytes"),
      ("echo/infer", Self.echoBody(bytes: 60_000), 200, ""),
    ]
    for (path, body, status, error) in cases {
      let reply = try await HTTPCall.post("\(base)/v2/models/\(path)", body: Data(body.utf8))
      #expect(reply.status == status, "\(path) \(body.prefix(120)): \(reply.body)")
      if status != 200 {
        let message = (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any])?["error"] as? String
        #expect(message?.contains(error) == true, "\(path) \(body.prefix(120)): \(reply.body)")
      }
    }
    let compressed = try await HTTPCall.post("\(base)/v2/models/echo/infer", body: Data([0x1f, 0x8b]), headers: ["Content-Encoding": "gzip"])
    #expect(compressed.status == 415 && compressed.body.contains("'gzip' is not supported"), "\(compressed)")
    let metadata = try await HTTPCall.get("\(base)/v2/models/text/versions/9")
    #expect(metadata.status == 404 && metadata.body.contains("has no version '9'"), "\(metadata)")
  }

  @Test func aBodyThatTricklesIsCutOffAtTheBodyTimeout() async throws {
    let (mesh, base) = try await TestMesh.withHTTP(gatewayArguments: ["--http-body-timeout-ms", "1000"])
    try await mesh.startWorker(name: "echo-1", ["--model", "echo"])
    let body = Array(Self.echoBody(bytes: 100).utf8)
    let address = String(base.dropFirst("http://".count))
    // The control: the body in two parts 300 ms apart arrives in time.
    let prompt = try await RawHTTPConnection.post(to: address, path: "/v2/models/echo/infer", body: body, pauseAfter: body.count / 2, pause: .milliseconds(300))
    #expect(prompt.hasPrefix("HTTP/1.1 200"), "\(prompt)")
    // Half the body, then nothing: 408 once the timeout passes, not a connection held open.
    let started = ContinuousClock.now
    let stalled = try await RawHTTPConnection.post(to: address, path: "/v2/models/echo/infer", body: body, pauseAfter: body.count / 2, pause: .seconds(10))
    #expect(stalled.hasPrefix("HTTP/1.1 408"), "\(stalled)")
    #expect(stalled.contains("did not arrive within"))
    #expect(ContinuousClock.now - started < .seconds(5))
  }

  private static func echoBody(bytes: Int) -> String {
    #"{"inputs":[{"name":"input","datatype":"BYTES","shape":[1],"data":[""# + String(repeating: "x", count: bytes) + #""]}]}"#
  }

  private static func close(_ got: [Float], _ expected: [Float]) -> Bool {
    got.count == expected.count && zip(got, expected).allSatisfy { abs($0 - $1) <= tolerance }
  }
}

/// An HTTP/1.1 request written by hand on a TCP socket, so a test can pause in the
/// middle of the body as a slow or hostile client would.
enum RawHTTPConnection {
  /// Sends the head and `body`, pausing after `pauseAfter` bytes (skipping the rest if the
  /// server has answered by then), and returns what the server sent until it closed or 15 s passed.
  static func post(to address: String, path: String, body: [UInt8], pauseAfter: Int, pause: Duration) async throws -> String {
    let parts = address.split(separator: ":")
    guard parts.count == 2, let port = UInt16(parts[1]) else { throw TestFailure("bad address \(address)") }
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw TestFailure("socket: \(errno)") }
    defer { Glibc.close(descriptor) }
    var timeout = timeval(tv_sec: 15, tv_usec: 0)
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var server = sockaddr_in()
    server.sin_family = sa_family_t(AF_INET)
    server.sin_port = port.bigEndian
    server.sin_addr.s_addr = inet_addr(String(parts[0]))
    let connected = withUnsafePointer(to: &server) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw TestFailure("connect to \(address): \(errno)") }
    let head = "POST \(path) HTTP/1.1\r\nHost: \(address)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
    func write(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
    write(Array(head.utf8) + body[..<pauseAfter])
    // Waits for the pause, or less if the server answers first.
    var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
    let answeredEarly = poll(&ready, 1, Int32(pause / .milliseconds(1))) > 0
    if !answeredEarly { write(Array(body[pauseAfter...])) }
    var reply: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = recv(descriptor, &buffer, buffer.count, 0)
      guard count > 0 else { break }
      reply += buffer[..<count]
    }
    return String(decoding: reply, as: UTF8.self)
  }
}

/// Bearer tokens on the HTTP side's model endpoints: refused without one, served with one,
/// revoked by removing its file and SIGHUP; health and metrics stay open for probes.
@Suite(.serialized) struct HTTPBearerTokenTests {
  @Test func modelEndpointsNeedAKnownTokenAndLoseItOnRevocation() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-tokens-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let token = "alice-0123456789abcdef0123456789"
    try "\(token)\n".write(to: directory.appendingPathComponent("alice.token"), atomically: true, encoding: .utf8)

    let (mesh, base) = try await TestMesh.withHTTP(gatewayArguments: ["--http-tokens", directory.path])
    try await mesh.startWorker(name: "echo-1", ["--model", "echo"])
    let infer = "\(base)/v2/models/echo/infer"
    let body = Data(#"{"inputs":[{"name":"input","datatype":"BYTES","shape":[1],"data":["hi"]}]}"#.utf8)

    let anonymous = try await HTTPCall.post(infer, body: body)
    #expect(anonymous.status == 401 && anonymous.body.contains("Authorization: Bearer"), "\(anonymous)")
    let wrong = try await HTTPCall.post(infer, body: body, headers: ["Authorization": "Bearer alice-0123456789abcdef0123456788"])
    #expect(wrong.status == 401 && wrong.body.contains("not one this gateway accepts"), "\(wrong)")
    let allowed = try await HTTPCall.post(infer, body: body, headers: ["Authorization": "Bearer \(token)"])
    #expect(allowed.status == 200 && allowed.body.contains(#""data":["hi"]"#), "\(allowed)")
    #expect(try await HTTPCall.get("\(base)/v2/models/echo").status == 401)
    #expect(try await HTTPCall.get("\(base)/v2/health/ready").status == 200)
    #expect(try await HTTPCall.get("\(base)/metrics").status == 200)

    try FileManager.default.removeItem(at: directory.appendingPathComponent("alice.token"))
    mesh.gateway.signal(SIGHUP)
    let deadline = ContinuousClock.now + .seconds(10)
    var revoked = (status: 0, body: "")
    repeat {
      revoked = try await HTTPCall.post(infer, body: body, headers: ["Authorization": "Bearer \(token)"])
      if revoked.status == 401 { break }
      try await Task.sleep(for: .milliseconds(100))
    } while ContinuousClock.now < deadline
    #expect(revoked.status == 401, "the removed token still works: \(revoked)")
  }
}
