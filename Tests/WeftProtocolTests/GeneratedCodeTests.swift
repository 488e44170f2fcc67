import Foundation
import Testing

/// The committed generated code must come from the committed protos: the generator
/// script stamps the checksums of Protos/ and of the method-table generator next to its
/// output, and this test recomputes them.
@Suite struct GeneratedCodeTests {
  private var root: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  }

  @Test func committedCodeIsGeneratedFromTheCurrentProtos() throws {
    let stampURL = root.appendingPathComponent("Sources/WeftProtocol/Generated/protos.sha256")
    let stamp = try String(contentsOf: stampURL, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.currentDirectoryURL = root.appendingPathComponent("Protos")
    let protos = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Protos/weft/v1").path)
      .filter { $0.hasSuffix(".proto") }.sorted().map { "weft/v1/\($0)" }
    process.arguments = protos + ["../scripts/protos/method_tables.py"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let current = String(decoding: output, as: UTF8.self)
    #expect(
      current == stamp,
      "Protos/ changed since the code was generated: run scripts/generate-protos.sh and commit the result")
  }

  @Test func everyProtoHasGeneratedSwift() throws {
    let protos = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Protos/weft/v1").path)
      .filter { $0.hasSuffix(".proto") && $0 != "services.proto" }
    for proto in protos {
      let generated = root.appendingPathComponent("Sources/WeftProtocol/Generated/\(proto.dropLast(6)).pb.swift")
      #expect(FileManager.default.fileExists(atPath: generated.path), "missing \(generated.lastPathComponent)")
    }
    let methodTables = ["Sources/WeftProtocol/Generated/Services.swift", "clients/c/generated/weft/v1/methods.h",
      "clients/c/generated/weft/v1/methods.c", "clients/python/weft_client/methods.py"]
    for table in methodTables {
      #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(table).path), "missing \(table)")
    }
  }
}
