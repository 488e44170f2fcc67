import Foundation
import Testing
import WeftProcess

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
    let protos = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Protos/weft/v1").path)
      .filter { $0.hasSuffix(".proto") }.sorted().map { "weft/v1/\($0)" }
    // Run from Protos/ (the stamp names files relative to it), with sha256sum's own path
    // changes spelled out instead of a working directory (posix_spawn has none to set).
    let process = try SpawnedProcess(
      executable: "/bin/sh", arguments: ["-c", "cd \"$0\" && exec /usr/bin/sha256sum \"$@\"", root.appendingPathComponent("Protos").path]
        + protos + ["../scripts/protos/method_tables.py"],
      environment: ProcessInfo.processInfo.environment, input: .null, output: .pipe)
    let output = process.output!.readDataToEndOfFile()
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
