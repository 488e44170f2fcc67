import ArgumentParser
import Foundation

/// One run's figures, written as JSON with `--json FILE` so two runs can be compared by
/// `scripts/bench-compare.py`: each figure keeps every round, so the comparison knows the
/// run-to-run spread as well as the median.
///
/// Layout: `{"schema": 1, "date", "command", "machine": {"cores", "cpu"}, "figures":
/// {NAME: {"unit", "better": "higher"|"lower", "median", "rounds": […]}}}`.
final class BenchReport {
  /// Which way a figure improves.
  enum Better: String { case higher, lower }

  private var figures: [String: [String: Any]] = [:]

  /// Records `rounds` (one value per round) as figure `name`.
  func add(_ name: String, unit: String, better: Better, rounds: [Double]) {
    let finite = rounds.filter(\.isFinite)
    guard !finite.isEmpty else { return }
    figures[name] = ["unit": unit, "better": better.rawValue, "median": BenchFormat.median(finite), "rounds": finite]
  }

  /// A model configuration's seconds per call, Weft's and the reference's, as
  /// `PREFIX.CONFIGURATION.{weft_ms,reference_ms,ratio}` (the ratio: the reference's time
  /// over Weft's, round by round; above 1 is faster than the reference), the share of
  /// the machine's time the host took while Weft's calls ran, as `host_steal_percent`, and
  /// the share of the lanes' phases the caller ran alone, as `lane_phases_alone_percent`.
  func addModelTimes(
    _ prefix: String, configuration: String, weft: [Double], conditions: BenchTiming.ModelRunConditions, reference: [Double]?
  ) {
    let name = "\(prefix).\(configuration.replacingOccurrences(of: ", ", with: "_").replacingOccurrences(of: " ", with: "_"))"
    add("\(name).weft_ms", unit: "ms", better: .lower, rounds: weft.map { $0 * 1_000 })
    add("\(name).host_steal_percent", unit: "%", better: .lower, rounds: [conditions.hostSteal * 100])
    add("\(name).lane_phases_alone_percent", unit: "%", better: .lower, rounds: [conditions.aloneShare * 100])
    guard let reference else { return }
    add("\(name).reference_ms", unit: "ms", better: .lower, rounds: reference.map { $0 * 1_000 })
    add("\(name).ratio", unit: "×", better: .higher, rounds: zip(reference, weft).map { $0 / $1 })
  }

  /// Writes the report to `path` (nothing when nil).
  func write(to path: String?) throws {
    guard let path else { return }
    let report: [String: Any] = [
      "schema": 1,
      "date": ISO8601DateFormatter().string(from: Date()),
      "command": (["weft-bench"] + CommandLine.arguments.dropFirst()).joined(separator: " "),
      "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount, "cpu": Self.cpuModel()],
      "figures": figures,
    ]
    let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
    try data.write(to: URL(fileURLWithPath: path))
    print("figures written to \(path)")
  }

  private static func cpuModel() -> String {
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
      let colon = line.firstIndex(of: ":")
    else { return "unknown" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
  }
}

/// `--json FILE`, shared by the benchmarks that can write their figures.
struct BenchReportOptions: ParsableArguments {
  @Option(help: "Also write every figure, each with its rounds, as JSON to this file (compare two with scripts/bench-compare.py).")
  var json: String?
}
