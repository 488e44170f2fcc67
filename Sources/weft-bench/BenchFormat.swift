import Foundation

/// What the benchmarks share for reporting: medians and fixed-width columns.
enum BenchFormat {
  /// The median (the upper one for an even count); 0 for no values.
  static func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
  }

  /// `value` with `decimals` decimals, right-aligned in `width` characters.
  static func column(_ value: Double, _ width: Int, _ decimals: Int = 0) -> String {
    let text = String(format: "%.\(decimals)f", value)
    return String(repeating: " ", count: max(0, width - text.count)) + text
  }
}
