import Foundation
import WeftModels

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

  /// What a model's timed rounds ran beside: the share of the machine's CPU time the host
  /// took (``MachineTicks/stealShare(since:)``), and how its lanes' phases ran (a run at
  /// twice its time with the caller alone in most phases had helpers kept off a CPU).
  struct ModelRunConditions {
    var hostSteal: Double
    var lanes: ComputeLanes.PhaseCounts

    /// The share of the phases the caller ran alone.
    var aloneShare: Double {
      let phases = lanes.withHelpers + lanes.alone + lanes.turnedAway
      return phases > 0 ? Double(lanes.alone) / Double(phases) : 0
    }
  }

  /// ``rounds(_:warmUp:_:)`` of a model computing on `lanes`, and the conditions they ran in.
  static func modelRounds(_ rounds: Int, lanes: ComputeLanes, _ body: () throws -> Void) rethrows
    -> (seconds: [Double], conditions: ModelRunConditions)
  {
    let (ticks, phases) = (MachineTicks(), lanes.phaseCounts)
    let seconds = try self.rounds(rounds, body)
    return (seconds, ModelRunConditions(hostSteal: MachineTicks().stealShare(since: ticks), lanes: lanes.phaseCounts.since(phases)))
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
