import Histogram
import Metrics
import WeftProtocol

/// What one version of a service did: for `weft status --versions`, for a ramp's
/// roll-back and for the bandit. Owned by the gateway loop.
///
/// Latencies go into HDR histograms (two significant digits, up to an hour), so memory
/// per version is fixed however many requests pass.
final class VersionFigures {
  /// Outcomes of one kind of traffic: replies to clients, or shadow copies.
  struct Outcomes {
    /// Final outcomes, OK or not.
    private(set) var requests: UInt64 = 0
    /// Outcomes by status code number.
    private(set) var byCode = [UInt64](repeating: 0, count: 17)
    /// Outcomes the version is to blame for (see ``StatusCode/isServerFault``).
    private(set) var serverFaults: UInt64 = 0
    /// Gateway receipt to reply, in microseconds.
    private(set) var total = VersionFigures.latencyHistogram()
    /// Gateway queue plus worker batch queue, for replies that came from a worker.
    private(set) var queue = VersionFigures.latencyHistogram()
    /// Model time, for replies that came from a worker.
    private(set) var compute = VersionFigures.latencyHistogram()

    /// Records one final outcome; `queue` and `compute` are known when a worker replied.
    mutating func record(_ code: StatusCode, total: UInt64, queue: UInt64? = nil, compute: UInt64? = nil) {
      requests += 1
      byCode[Int(code.rawValue)] += 1
      if code.isServerFault { serverFaults += 1 }
      self.total.recordClamped(total)
      if let queue { self.queue.recordClamped(queue) }
      if let compute { self.compute.recordClamped(compute) }
    }

    /// The figures as sent in `MeshStatus`.
    var message: Weft_V1_VersionFigures {
      var figures = Weft_V1_VersionFigures()
      figures.requests = requests
      figures.errors = StatusCode.allCodes.dropFirst().compactMap { code in
        let count = byCode[Int(code.rawValue)]
        guard count > 0 else { return nil }
        var entry = Weft_V1_StatusCount()
        entry.code = code.name
        entry.count = count
        return entry
      }
      figures.total = total.summary
      figures.queue = queue.summary
      figures.compute = compute.summary
      return figures
    }
  }

  /// The version these figures are for.
  let version: String
  /// Its replies' durations for Prometheus; nil while no metrics backend is bootstrapped,
  /// so a gateway without one does not pay for five no-op calls per reply.
  let timers: StageTimers?
  /// Replies to clients.
  @exclusivity(unchecked) var served = Outcomes()
  /// Shadow copies (replies dropped).
  @exclusivity(unchecked) var shadow = Outcomes()
  /// Rewards credited to the version, and their sum.
  private(set) var rewardCount: UInt64 = 0
  private(set) var rewardSum = 0.0

  init(service: String, version: String) {
    self.version = version
    timers = MetricsSystem.factory is NOOPMetricsHandler ? nil : StageTimers(service: service, version: version)
  }

  /// Credits a reward in [0, 1].
  func credit(reward: Double) {
    rewardCount += 1
    rewardSum += reward
  }

  /// The mean reward, 0 before any.
  var meanReward: Double { rewardCount > 0 ? rewardSum / Double(rewardCount) : 0 }

  /// Latencies from 1 µs to an hour, two significant digits.
  static func latencyHistogram() -> Histogram<UInt64> {
    Histogram(lowestDiscernibleValue: 1, highestTrackableValue: maxTrackedMicroseconds, numberOfSignificantValueDigits: .two)
  }

  static let maxTrackedMicroseconds: UInt64 = 3_600_000_000
}

extension Histogram<UInt64> {
  /// Records `value`, cut to the histogram's range (a reply slower than an hour is
  /// recorded as an hour rather than lost).
  fileprivate mutating func recordClamped(_ value: UInt64) {
    _ = record(Swift.min(Swift.max(value, 1), VersionFigures.maxTrackedMicroseconds))
  }

  fileprivate var summary: Weft_V1_LatencySummary {
    var summary = Weft_V1_LatencySummary()
    summary.count = totalCount
    guard totalCount > 0 else { return summary }
    summary.p50Us = valueAtPercentile(50)
    summary.p90Us = valueAtPercentile(90)
    summary.p99Us = valueAtPercentile(99)
    summary.maxUs = max
    return summary
  }
}

extension StatusCode {
  /// The server, not the caller, is to blame: what a roll-back counts against a version.
  /// Client mistakes (INVALID_ARGUMENT, NOT_FOUND…) and overload at the gateway
  /// (RESOURCE_EXHAUSTED) are not the version's fault.
  var isServerFault: Bool {
    self == .unknown || self == .deadlineExceeded || self == .internal || self == .unavailable || self == .dataLoss
  }
}
