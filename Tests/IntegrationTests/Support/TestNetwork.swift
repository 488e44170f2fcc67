import Foundation
import WeftNetworkLab

/// Test hosts: ``LabNetwork`` under the tests' name.
typealias TestNetwork = LabNetwork

extension LabHost {
  /// Starts `weft` (or `executable`) with `arguments` inside this host.
  func start(
    _ arguments: [String], executable: String = MeshProcess.executable, environment: [String: String] = [:]
  ) throws -> MeshProcess {
    try MeshProcess(command(executable, arguments), executable: LabNetwork.ip, environment: environment)
  }

  /// Runs `weft` (or `executable`) to completion inside this host.
  func run(
    _ arguments: [String], executable: String = MeshProcess.executable, environment: [String: String] = [:],
    timeout: Duration = .seconds(30)
  ) async throws -> (status: Int32, stdout: String, stderr: String) {
    try await MeshProcess.run(command(executable, arguments), executable: LabNetwork.ip, environment: environment, timeout: timeout)
  }
}
