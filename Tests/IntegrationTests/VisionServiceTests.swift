import Foundation
import SwiftProtobuf
import Testing
import WeftClient
import WeftProtocol

/// The vision worker behind a real gateway, checked against the reference fixtures.
@Suite(.serialized) struct VisionServiceTests {
  struct ExactInput: Decodable {
    let file: String
    let top5: [Int]
    let logits: [Float]
    let features: [Float]
  }

  struct Fixture: Decodable { let exact_inputs: [ExactInput] }

  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("WeftModelsTests/Fixtures")
  static let fixture: Fixture = try! JSONDecoder().decode(
    Fixture.self, from: Data(contentsOf: fixtures.appendingPathComponent("efficientnet.json")))

  private func image(_ name: String) throws -> Data { try Data(contentsOf: Self.fixtures.appendingPathComponent("vision/" + name)) }

  private func maxDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }

  private func classifyBody(_ configure: (inout Weft_V1_ClassifyRequest) -> Void) throws -> [Data] {
    var request = Weft_V1_ClassifyRequest()
    configure(&request)
    return [try request.serializedData()]
  }

  @Test func classificationThroughTheMeshMatchesTheReference() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "vision-1", ["--model", "vision", "--max-batch-delay-ms", "20"])
    let client = mesh.client
    for item in Self.fixture.exact_inputs {
      let reply = try await client.classify(image: try image(item.file), topK: 5, includeLogits: true)
      #expect(reply.top.map { Int($0.index) } == item.top5, "\(item.file)")
      #expect(maxDifference(try reply.logits.float32Values(), item.logits) <= 1e-3, "\(item.file)")
      #expect(reply.top.allSatisfy { !$0.label.isEmpty && $0.probability > 0 && $0.probability <= 1 })
      #expect(zip(reply.top, reply.top.dropFirst()).allSatisfy { $0.probability >= $1.probability })
      let features = try await client.imageEmbedding(image: try image(item.file))
      #expect(features.count == 1280)
      #expect(maxDifference(features, item.features) <= 1e-3, "\(item.file) features")
    }

    // Concurrent requests share batches and get what they got alone.
    let items = Self.fixture.exact_inputs
    let bodies = try items.map { item in
      let data = try image(item.file)
      return try classifyBody { $0.image.encoded = data; $0.topK = 3 }
    }
    let results = await runCalls(12, concurrency: 12) { index in
      await client.result("vision", "classify", body: bodies[index % bodies.count])
    }
    var largestBatch: UInt32 = 0
    for (index, result) in results.enumerated() {
      let response = try result.get()
      largestBatch = max(largestBatch, response.header.batchSize)
      let reply = try Weft_V1_ClassifyResponse(serializedBytes: response.body[0])
      let expected = Array(items[index % items.count].top5.prefix(3))
      #expect(reply.top.map { Int($0.index) } == expected)
    }
    #expect(largestBatch > 1, "concurrent requests should have shared a batch")
  }

  @Test func rawPixelTensorsAreAcceptedAsUInt8OrFloat32() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "vision-1", ["--model", "vision"])
    // A 300×200 gradient: not 224×224, so it is cropped and resized too.
    let (width, height) = (300, 200)
    var bytes = [UInt8](repeating: 0, count: height * width * 3)
    for y in 0..<height {
      for x in 0..<width {
        for channel in 0..<3 { bytes[(y * width + x) * 3 + channel] = UInt8(truncatingIfNeeded: x + 2 * y + 40 * channel) }
      }
    }
    var uint8 = Tensor()
    uint8.dtype = .uint8
    uint8.shape = [Int64(height), Int64(width), 3]
    uint8.data = Data(bytes)
    let float = Tensor.float32(shape: [height, width, 3], values: bytes.map(Float.init))
    var logits: [[Float]] = []
    for tensor in [uint8, float] {
      let body = try classifyBody { $0.image.rgb = tensor; $0.includeLogits = true }
      let response = try await mesh.client.call("vision", "classify", body: body)
      logits.append(try Weft_V1_ClassifyResponse(serializedBytes: response.body[0]).logits.float32Values())
    }
    #expect(logits[0].count == 1000)
    #expect(maxDifference(logits[0], logits[1]) <= 1e-5)
  }

  @Test func badImagesFailAloneWithClearErrors() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "vision-1", ["--model", "vision", "--max-batch-delay-ms", "20"])
    let client = mesh.client
    let png = try image("chelsea-224.png")
    let jpeg = try Data(contentsOf: URL(fileURLWithPath: samplesDirectory() + "/rocket.jpg"))
    var wrongShape = Tensor.float32(shape: [4, 4, 4], values: [Float](repeating: 0, count: 64))
    wrongShape.name = "pixels"
    var huge = Tensor()
    huge.dtype = .uint8
    huge.shape = [100_000, 100_000, 3]
    var short = Tensor()
    short.dtype = .uint8
    short.shape = [10, 10, 3]
    short.data = Data(count: 299)

    let cases: [(name: String, body: [Data], message: String)] = [
      ("truncated PNG", try classifyBody { $0.image.encoded = png.prefix(png.count / 2) }, "corrupt PNG"),
      ("truncated JPEG", try classifyBody { $0.image.encoded = jpeg.prefix(jpeg.count / 2) }, "corrupt JPEG"),
      ("not an image", try classifyBody { $0.image.encoded = Data("GIF89a this is not supported".utf8) }, "neither JPEG nor PNG"),
      ("empty image", try classifyBody { $0.image.encoded = Data() }, "empty"),
      ("no image", try classifyBody { $0.topK = 3 }, "no image"),
      ("four channels", try classifyBody { $0.image.rgb = wrongShape }, "[height, width, 3]"),
      ("too many pixels", try classifyBody { $0.image.rgb = huge }, "pixels"),
      ("short tensor", try classifyBody { $0.image.rgb = short }, "needs 300"),
      ("top_k too large", try classifyBody { $0.image.encoded = png; $0.topK = 1001 }, "top_k"),
      ("not protobuf", [Data([0xff, 0xff, 0xff])], "not a ClassifyRequest"),
      ("two frames", [png, png], "one body frame"),
    ]
    async let good = client.classify(image: png)
    for item in cases {
      let result = await client.result("vision", "classify", body: item.body)
      #expect(result.failureCode == .invalidArgument, "\(item.name)")
      if case .failure(let error) = result { #expect(error.message.contains(item.message), "\(item.name): \(error.message)") }
    }
    #expect(try await good.top.count == 5)
    // The worker is unharmed.
    #expect(try await client.classify(image: png, topK: 1).top.count == 1)
  }

  @Test func cliPrintsTopClassesAndLogitsAsJSON() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "vision-1", ["--model", "vision"])
    let path = Self.fixtures.appendingPathComponent("vision/coffee-224.png").path
    let result = try await MeshProcess.run(
      ["call", "vision.classify", "--image", path, "--top-k", "3", "--logits", "--json", "--gateway", mesh.frontend])
    #expect(result.status == 0, "\(result.stderr)")
    let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    let top = json?["top"] as? [[String: Any]] ?? []
    #expect(top.count == 3)
    #expect(top.first?["label"] as? String == "espresso")
    #expect(top.first?["index"] as? Int == 967)
    #expect((top.first?["probability"] as? Double ?? 0) > 0.5)
    #expect((json?["logits"] as? [Double])?.count == 1000)

    let text = try await MeshProcess.run(["call", "vision.classify", "--image", path, "--gateway", mesh.frontend])
    #expect(text.stdout.contains("[967] espresso"))

    let bad = try await MeshProcess.run(["call", "vision.classify", "--image", #filePath, "--gateway", mesh.frontend])
    #expect(bad.status == 1)
    #expect(bad.stderr.contains("INVALID_ARGUMENT"))
  }

  private func samplesDirectory() -> String {
    (ProcessInfo.processInfo.environment["WEFT_MODELS"] ?? (NSHomeDirectory() + "/.cache/weft/models")) + "/samples"
  }
}
