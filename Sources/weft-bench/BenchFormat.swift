import Foundation
import WeftModels

/// What the benchmarks share for reporting: medians, percentiles and fixed-width columns.
enum BenchFormat {
  /// The median (the upper one for an even count); 0 for no values.
  static func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
  }

  /// The `percent`th percentile of `sorted` (ascending): the value at index
  /// count × percent / 100, so the 50th of an even count is the upper median; 0 for no values.
  static func percentile(_ sorted: [Double], _ percent: Int) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, sorted.count * percent / 100)]
  }

  /// `value` with `decimals` decimals, right-aligned in `width` characters.
  static func column(_ value: Double, _ width: Int, _ decimals: Int = 0) -> String {
    let text = String(format: "%.\(decimals)f", value)
    return String(repeating: " ", count: max(0, width - text.count)) + text
  }

  /// The line saying how much of the machine's time the host took (`steal` in
  /// `/proc/stat`) `during` the measurements, per named configuration (an empty name: the
  /// share alone): on a VM, a slow run with some was slowed from outside.
  static func hostStealLine(_ shares: [(name: String, share: Double)], during: String = "while Weft ran") -> String {
    "host steal \(during) (share of the machine's CPU time, /proc/stat): "
      + shares.map { ($0.name.isEmpty ? "" : "\($0.name) ") + String(format: "%.1f%%", $0.share * 100) }.joined(separator: ", ")
  }

  /// The host steal line, and one saying how the lanes' phases ran, for each model configuration.
  static func conditionLines(_ runs: [(name: String, conditions: BenchTiming.ModelRunConditions)]) -> [String] {
    [
      hostStealLine(runs.map { ($0.name, $0.conditions.hostSteal) }),
      "lanes (phases the caller ran alone while the helpers were slow; helpers moved off the caller's CPU): "
        + runs.map { "\($0.name) " + String(format: "%.1f%% alone", $0.conditions.aloneShare * 100) + ", \($0.conditions.lanes.helperMoves) moves" }
        .joined(separator: "; "),
    ]
  }
}
