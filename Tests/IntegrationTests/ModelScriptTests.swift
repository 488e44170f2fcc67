import Foundation
import Testing

/// The set-up scripts that prepare model files, run as set-up runs them.
@Suite struct ModelScriptTests {
  static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("scripts/models")

  /// The legacy-PyTorch converter's own unit tests (strides, offsets, integer tensors,
  /// refusals), on small checkpoints they write themselves.
  @Test func checkpointConverterPassesItsTests() async throws {
    let result = try await MeshProcess.run(
      ["python3", Self.scripts.appendingPathComponent("test_torch_legacy_to_safetensors.py").path],
      executable: "/usr/bin/env", timeout: .seconds(60))
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("Ran 4 tests"))
  }
}
