import Foundation

/// What the process costs, read from `/proc/self`: the standard `process_*` metrics.
struct ProcessFigures {
  var residentBytes: Double = 0
  var cpuSeconds: Double = 0
  var openFileDescriptors: Double = 0
  var startTimeSeconds: Double = 0

  static func current() -> ProcessFigures {
    var figures = ProcessFigures()
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
      let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
    {
      figures.residentBytes = kilobytes * 1_024
    }
    // Fields 14 and 15 of /proc/self/stat (after the command name in parentheses) are
    // user and system CPU time in clock ticks.
    if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
      if fields.count > 19, let user = Double(fields[11]), let system = Double(fields[12]), let start = Double(fields[19]) {
        figures.cpuSeconds = (user + system) / ticks
        figures.startTimeSeconds = bootTime() + start / ticks
      }
    }
    figures.openFileDescriptors = Double((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0)
    return figures
  }

  private static func bootTime() -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
      let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("btime ") })
    else { return 0 }
    return Double(line.dropFirst(6)) ?? 0
  }
}
