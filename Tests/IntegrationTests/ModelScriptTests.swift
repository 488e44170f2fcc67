import Foundation
import Testing

/// The set-up scripts that prepare model files, run as set-up runs them.
@Suite struct ModelScriptTests {
  static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("scripts/models")

  /// Each converter's own unit tests, on small files they write themselves: the
  /// legacy-PyTorch one (strides, offsets, integer tensors, refusals) and the ONNX one
  /// (raw and float_data tensors, graphs nested in node attributes, refusals).
  @Test(arguments: [("test_torch_legacy_to_safetensors.py", 4), ("test_onnx_initializers_to_safetensors.py", 3)])
  func converterPassesItsTests(script: String, tests: Int) async throws {
    let result = try await MeshProcess.run(
      ["python3", Self.scripts.appendingPathComponent(script).path], executable: "/usr/bin/env", timeout: .seconds(60))
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("Ran \(tests) tests"))
  }
}
