import Foundation
import Testing
import WeftClient
import WeftProtocol

/// What `deploy/` ships: Kubernetes manifests the API schemas accept, and the readiness
/// file their probes look at.
@Suite struct DeploymentTests {
  private static let manifests = ClientLibraryTests.repository.appendingPathComponent("deploy/kubernetes")

  /// `kubernetes-validate` (from PyPI, installed by set-up, beside the Python client).
  private static var validator: String {
    (ClientLibraryTests.python as NSString).deletingLastPathComponent + "/kubernetes-validate"
  }

  @Test func theKubernetesManifestsPassStrictValidation() async throws {
    let files = try FileManager.default.contentsOfDirectory(atPath: Self.manifests.path).filter { $0.hasSuffix(".yaml") }.sorted()
    #expect(files == ["autoscaling.yaml", "gateway.yaml", "recommender.yaml", "workers.yaml"])
    let paths = files.map { Self.manifests.appendingPathComponent($0).path }
    let result = try await MeshProcess.run(["--strict"] + paths, executable: Self.validator, timeout: .seconds(120))
    #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
    let report = result.stdout + result.stderr
    for resource in [
      "statefulset/weft-gateway", "service/weft-gateway", "poddisruptionbudget/weft-gateway",
      "deployment/weft-worker-text", "poddisruptionbudget/weft-worker-text", "deployment/weft-recommender",
      "poddisruptionbudget/weft-recommender",
    ] {
      #expect(report.contains("passed for resource \(resource)"), "\(resource): \(report)")
    }
    // Every worker and the recommender connect to both gateways and report readiness by file.
    for file in ["workers.yaml", "recommender.yaml"] {
      let text = try String(contentsOf: Self.manifests.appendingPathComponent(file), encoding: .utf8)
      let processes = text.components(separatedBy: "args: [").count - 1
      #expect(text.components(separatedBy: "tcp://weft-gateway-0.weft-gateway:5556").count - 1 == processes, "\(file)")
      #expect(text.components(separatedBy: "tcp://weft-gateway-1.weft-gateway:5556").count - 1 == processes, "\(file)")
      #expect(text.components(separatedBy: "command: [\"test\", \"-f\", \"/tmp/weft-ready\"]").count - 1 == processes, "\(file)")
    }
  }

  /// The validator is not a rubber stamp: a field the schema lacks is refused.
  @Test func strictValidationRefusesAnUnknownField() async throws {
    let gateway = try String(contentsOf: Self.manifests.appendingPathComponent("gateway.yaml"), encoding: .utf8)
    let broken = FileManager.default.temporaryDirectory.appendingPathComponent("weft-broken-\(UUID().uuidString).yaml")
    defer { try? FileManager.default.removeItem(at: broken) }
    try gateway.replacingOccurrences(of: "  podManagementPolicy: Parallel", with: "  podManagementPolicy: Parallel\n  replicaCount: 2")
      .write(to: broken, atomically: true, encoding: .utf8)
    let result = try await MeshProcess.run(["--strict", broken.path], executable: Self.validator, timeout: .seconds(120))
    #expect(result.status != 0)
    #expect((result.stdout + result.stderr).contains("replicaCount"), "\(result.stdout) \(result.stderr)")
  }

  /// `--ready-file` exists from registration until draining starts, and is gone after.
  @Test func aWorkersReadyFileLastsFromRegistrationUntilDraining() async throws {
    let mesh = try await TestMesh()
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("weft-ready-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: file) }
    // Started and waited for until the gateway lists it, so the call below reaches it. The
    // request takes long enough that a status poll on a loaded machine still sees it in flight.
    let worker = try await mesh.startWorker(name: "ready-1", ["--model", "sleep", "--latency-ms", "2000", "--ready-file", file])
    #expect(FileManager.default.fileExists(atPath: file))
    // Draining with a request in flight: the file goes at once, the worker when the request is done.
    let call = Task { try await mesh.client.call("sleep", "sleep") }
    try await mesh.waitUntil("the request reached the worker") { $0.worker(named: "ready-1")?.inFlight == 1 }
    worker.signal(SIGTERM)
    let deadline = ContinuousClock.now + .seconds(5)
    while FileManager.default.fileExists(atPath: file) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
    #expect(!FileManager.default.fileExists(atPath: file))
    #expect(try await call.value.header.status == .ok)
    #expect(await worker.waitForExit() == 0)
  }
}
