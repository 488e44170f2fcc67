import ArgumentParser
import Foundation
import WeftModels

/// What the model benchmarks (`weft-bench text`, `weft-bench vision`) share: how long
/// to measure, on how many threads, and where the PyTorch baseline and the weights are.
struct ModelBenchOptions: ParsableArguments {
  @Option(help: "Timed calls per configuration.")
  var rounds = 20
  @Option(help: "Threads for Weft's lanes and for PyTorch.")
  var threads = ProcessInfo.processInfo.activeProcessorCount
  @Option(help: "A Python with the PyTorch reference installed (see this command's description), for the baseline.")
  var python = "python3"
  @Option(help: "Where model weights are (default $WEFT_MODELS, else ~/.cache/weft/models).")
  var models: String?
  @OptionGroup var output: BenchReportOptions

  /// The model cache these options point at.
  var modelsDirectory: String { ModelCatalog.directory(models) }

  /// `--models` for a worker started by the benchmark, when one was given.
  var workerArguments: [String] { models.map { ["--models", $0] } ?? [] }

  /// Runs a PyTorch baseline script from `Benchmarks/` with `--python`: it gets
  /// `arguments`, then the thread count and rounds, reads `request` as JSON on stdin and
  /// prints `{"configuration": [seconds per call, …]}`.
  func pytorchTimes(
    script: String, arguments: [String] = [], request: [String: Any], environment: [String: String] = [:]
  ) throws -> [String: [Double]] {
    let data = try benchSubprocessOutput(
      "PyTorch baseline", executable: "/usr/bin/env",
      arguments: [python, benchRepositoryRoot + "/Benchmarks/" + script] + arguments + ["\(threads)", "\(rounds)"],
      environment: environment, input: try JSONSerialization.data(withJSONObject: request), discardingErrors: true)
    guard let result = try JSONSerialization.jsonObject(with: data) as? [String: [Double]] else {
      throw BenchError("PyTorch baseline printed no figures")
    }
    return result
  }
}
