import Foundation
import SwiftProtobuf
import Testing
import WeftClient
import WeftProtocol

/// The text worker behind a real gateway, checked against the reference fixtures.
@Suite(.serialized) struct TextServiceTests {
  struct Case: Decodable {
    let text: String
    let embedding: [Float]
  }

  struct Fixture: Decodable { let cases: [Case] }

  static let fixture: Fixture = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("WeftModelsTests/Fixtures/minilm.json")
    return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
  }()

  private func maxDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }

  @Test func embeddingsThroughTheMeshMatchTheReference() async throws {
    let mesh = try await TestMesh()
    let worker = try await mesh.startWorker(name: "text-1", ["--model", "text", "--max-batch-delay-ms", "10"])
    // OpenBLAS runs vector kernels, not the Pentium 4 ones it picks for a CPU newer than itself.
    let ready = try await worker.waitForLine(prefix: "worker ready")
    let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(whereSeparator: \.isWhitespace).map(String.init) ?? []
    if flags.contains("avx2") && flags.contains("fma") {
      #expect(!["openblas=Prescott", "openblas=Core2", "openblas=Nehalem"].contains { ready.contains($0) }, "\(ready)")
    }
    let cases = Array(Self.fixture.cases.prefix(8))
    let vectors = try await mesh.client.embed(cases.map(\.text))
    #expect(vectors.count == cases.count)
    for (vector, item) in zip(vectors, cases) {
      #expect(vector.count == 384)
      #expect(maxDifference(vector, item.embedding) <= 1e-4, "\(item.text.debugDescription)")
    }

    // Concurrent single-text requests are batched by the worker and give the same vectors.
    let client = mesh.client
    let results = await runCalls(cases.count, concurrency: cases.count) { index in
      var request = Weft_V1_EmbedRequest()
      request.texts = [cases[index].text]
      return await client.result("text", "embed", body: [try! request.serializedData()])
    }
    var largestBatch: UInt32 = 0
    for (index, result) in results.enumerated() {
      let response = try result.get()
      largestBatch = max(largestBatch, response.header.batchSize)
      let vector = try Weft_V1_EmbedResponse(serializedBytes: response.body[0]).vectors()[0]
      #expect(maxDifference(vector, vectors[index]) <= 1e-5)
    }
    #expect(largestBatch > 1, "concurrent requests should have shared a batch")
  }

  @Test func similarityScoresAreCosinesOfTheEmbeddings() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "text-1", ["--model", "text"])
    let query = "A man is eating food."
    let candidates = ["A man is eating a piece of bread.", "The stock market fell sharply today.", query]
    let scores = try await mesh.client.similarity(of: query, to: candidates)
    let vectors = try await mesh.client.embed([query] + candidates)
    #expect(scores.count == 3)
    for (index, score) in scores.enumerated() {
      let cosine = zip(vectors[0], vectors[index + 1]).reduce(Float(0)) { $0 + $1.0 * $1.1 }
      #expect(abs(score - cosine) < 1e-5)
    }
    #expect(scores[0] > scores[1], "a related sentence should score above an unrelated one: \(scores)")
    #expect(abs(scores[2] - 1) < 1e-5)
    let none = await mesh.client.result("text", "similarity", body: [try Weft_V1_SimilarityRequest.with { $0.query = "q" }.serializedData()])
    #expect(none.failureCode == .invalidArgument)
  }

  @Test func badRequestsFailAloneWithInvalidArgument() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "text-1", ["--model", "text", "--max-batch-delay-ms", "20"])
    let client = mesh.client
    async let good = client.embed(["still fine"])
    let garbage = await client.result("text", "embed", body: [Data([0xff, 0xff, 0xff])])
    let empty = await client.result("text", "embed", body: [try Weft_V1_EmbedRequest().serializedData()])
    #expect(garbage.failureCode == .invalidArgument)
    #expect(empty.failureCode == .invalidArgument)
    if case .failure(let error) = empty { #expect(error.message.contains("no texts")) }
    #expect(try await good.first?.count == 384)
  }
}
