import ArgumentParser
import Foundation
import WeftProcess

/// `--ready-file`: a file that exists while the process is ready to serve, for probes
/// that can only look at the file system (a Kubernetes `exec` readiness probe).
struct ReadinessOptions: ParsableArguments {
  @Option(help: "Write this file once the model is loaded and the process has registered; remove it when it starts draining or exits.")
  var readyFile: String?

  /// Says the process is ready.
  func markReady() {
    guard let readyFile else { return }
    // A probe that never sees the file keeps the pod unready: say why, once.
    if !FileManager.default.createFile(atPath: readyFile, contents: Data("ready\n".utf8)) {
      complain("weft: cannot write the ready file \(readyFile)")
    }
  }

  /// Says the process is no longer ready (draining, or gone).
  func markNotReady() {
    guard let readyFile else { return }
    try? FileManager.default.removeItem(atPath: readyFile)
  }
}
