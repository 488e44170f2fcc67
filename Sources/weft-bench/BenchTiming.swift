import Foundation

/// How the benchmarks time things: rounds of a call, and calls through the mesh.
enum BenchTiming {
  /// Seconds each of `rounds` calls of `body` took, after one untimed warm-up call
  /// unless `warmUp` is false.
  static func rounds(_ rounds: Int, warmUp: Bool = true, _ body: () throws -> Void) rethrows -> [Double] {
    if warmUp { try body() }
    return try (0..<rounds).map { _ in
      let start = ContinuousClock.now
      try body()
      return (ContinuousClock.now - start).seconds
    }
  }

  /// ``rounds(_:warmUp:_:)``, and the share of the machine's CPU time the host took while
  /// they ran (``MachineTicks/stealShare(since:)``).
  static func roundsAndHostSteal(_ rounds: Int, _ body: () throws -> Void) rethrows -> (seconds: [Double], hostSteal: Double) {
    let before = MachineTicks()
    let seconds = try self.rounds(rounds, body)
    return (seconds, MachineTicks().stealShare(since: before))
  }

  /// Seconds `requests` calls of `call` took with `inFlight` of them running at once
  /// (each of `inFlight` tasks makes every `inFlight`-th call).
  static func concurrently(
    requests: Int, inFlight: Int, _ call: @escaping @Sendable () async throws -> Void
  ) async throws -> Double {
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
      for lane in 0..<inFlight {
        group.addTask {
          for _ in stride(from: lane, to: requests, by: inFlight) { try await call() }
        }
      }
      try await group.waitForAll()
    }
    return (ContinuousClock.now - start).seconds
  }
}
