import Foundation
import SwiftProtobuf
import Testing
import WeftClient
import WeftProtocol

/// The speech worker behind a real gateway: detection and server-streaming checked against
/// the reference fixtures, concurrent sessions kept apart, bad audio refused, and the CLI.
@Suite(.serialized) struct SpeechServiceTests {
  struct FileFixture: Decodable {
    let name: String
    let probabilities: [Float]
    let segments: [[[Int]]]
  }

  struct Fixture: Decodable { let files: [FileFixture] }

  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("WeftModelsTests/Fixtures/speech")
  static let fixture: Fixture = try! JSONDecoder().decode(
    Fixture.self, from: Data(contentsOf: directory.appendingPathComponent("vad.json")))

  private func wav(_ name: String) throws -> Data { try Data(contentsOf: Self.directory.appendingPathComponent(name)) }

  private func samples(_ reply: Weft_V1_DetectResponse) -> [[Int]] { reply.segments.map { [Int($0.startSample), Int($0.endSample)] } }

  @Test func detectionThroughTheMeshMatchesTheReference() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "speech-1", ["--model", "speech", "--max-batch-delay-ms", "20"])
    for file in Self.fixture.files {
      let reply = try await mesh.client.detectSpeech(wav: try wav(file.name))
      #expect(samples(reply) == file.segments[0], "\(file.name)")
      let worst = zip(try reply.probabilities.float32Values(), file.probabilities).map { abs($0 - $1) }.max() ?? 1
      #expect(worst <= 1e-4, "\(file.name): \(worst)")
    }

    // Many sessions at once, sharing batches: each gets what it got alone.
    let files = Self.fixture.files
    let bodies = try files.map { file -> [Data] in
      var request = Weft_V1_DetectRequest()
      request.audio.wav = try wav(file.name)
      request.omitProbabilities = true
      return [try request.serializedData()]
    }
    let results = await runCalls(20, concurrency: 20) { index in
      await mesh.client.result("speech", "detect", body: bodies[index % bodies.count])
    }
    var largestBatch: UInt32 = 0
    for (index, result) in results.enumerated() {
      let response = try result.get()
      largestBatch = max(largestBatch, response.header.batchSize)
      let reply = try Weft_V1_DetectResponse(serializedBytes: response.body[0])
      #expect(samples(reply) == files[index % files.count].segments[0])
      #expect(!reply.hasProbabilities)
    }
    #expect(largestBatch > 1, "concurrent requests should have shared a batch")
  }

  @Test func streamingSendsSegmentsBeforeTheFinalResponse() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "speech-1", ["--model", "speech"])
    let file = try #require(Self.fixture.files.first { $0.name == "speech-pauses-16k.wav" })
    var responses: [Weft_V1_DetectResponse] = []
    for try await response in try mesh.client.detectSpeechStream(wav: try wav(file.name)) { responses.append(response) }
    let partials = responses.dropLast()
    #expect(partials.count == file.segments[0].count, "every segment of this file closes before its end")
    #expect(partials.allSatisfy { $0.segments.count == 1 && $0.processed > 0 && $0.duration == 0 })
    #expect(samples(Weft_V1_DetectResponse.with { $0.segments = responses.flatMap(\.segments) }) == file.segments[0])
    let final = try #require(responses.last)
    #expect(abs(final.duration - 10.27) < 0.01)
    #expect(!final.hasProbabilities)
  }

  @Test func badAudioIsRefusedWithASpecificStatus() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "speech-1", ["--model", "speech"])
    var truncated = try wav("silence-16k.wav")
    truncated.removeLast(1_001)
    var request = Weft_V1_DetectRequest()
    request.audio.wav = truncated
    do {
      _ = try await mesh.client.detectSpeech(wav: truncated)
      Issue.record("a truncated WAV was accepted")
    } catch let error as WeftError {
      #expect(error.code == .invalidArgument)
      #expect(error.message.contains("truncated"), "\(error.message)")
    }
    do {
      _ = try await mesh.client.call("speech", "transcribe", body: [try request.serializedData()])
      Issue.record("an unknown method was accepted")
    } catch let error as WeftError {
      #expect(error.code == .notFound)
      #expect(error.message.contains("detect.stream"), "the error lists the methods served: \(error.message)")
    }
    // The worker is still serving.
    #expect(try await mesh.client.detectSpeech(wav: try wav("silence-16k.wav")).segments.isEmpty)
  }

  @Test func theCLIPrintsProbabilitiesAndSegmentsAsJSON() async throws {
    let mesh = try await TestMesh()
    try await mesh.startWorker(name: "speech-1", ["--model", "speech"])
    let file = try #require(Self.fixture.files.first { $0.name == "speech-22k.wav" })
    let output = try await MeshProcess.run(
      ["call", "speech.detect", "--audio", Self.directory.appendingPathComponent(file.name).path, "--json", "--gateway", mesh.frontend])
    #expect(output.status == 0, "\(output.stderr)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
    let probabilities = try #require(object["probabilities"] as? [Double])
    #expect(probabilities.count == file.probabilities.count)
    let segments = try #require(object["segments"] as? [[String: Any]])
    let expected = file.segments[0].map { [Double($0[0]) / 16_000, Double($0[1]) / 16_000] }
    #expect(segments.map { [$0["start"] as? Double ?? -1, $0["end"] as? Double ?? -1] } == expected)
  }
}
