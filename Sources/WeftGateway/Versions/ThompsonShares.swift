import Foundation
import WeftProtocol

/// Thompson sampling turned into traffic shares.
///
/// Each version's reward is modelled as Bernoulli with a Beta(1, 1) prior; a reward r in
/// [0, 1] adds r successes and 1 − r failures. A version's share is the posterior
/// probability that it has the highest mean (the fraction of joint posterior draws it
/// wins), lifted so every version keeps at least `floor`. Sharing traffic this way rather
/// than drawing per request keeps users sticky between updates.
enum ThompsonShares {
  /// The shares, summing to 1, in the order of `successes`.
  /// - Parameters:
  ///   - successes: summed rewards per version.
  ///   - failures: summed (1 − reward) per version.
  ///   - floor: the least share of each version; `floor × count` must not pass 1.
  ///   - draws: joint posterior samples; 2,000 puts the standard error under 1.2 points.
  static func shares(
    successes: [Double], failures: [Double], floor: Double, draws: Int = 2_000, using random: inout SplitMix64
  ) -> [Double] {
    let count = successes.count
    guard count > 1 else { return Array(repeating: 1, count: count) }
    var wins = [Int](repeating: 0, count: count)
    for _ in 0..<draws {
      var best = 0
      var bestValue = -1.0
      for index in 0..<count {
        let value = beta(successes[index] + 1, failures[index] + 1, using: &random)
        if value > bestValue { (best, bestValue) = (index, value) }
      }
      wins[best] += 1
    }
    let spread = max(0, 1 - floor * Double(count))
    return wins.map { floor + spread * Double($0) / Double(draws) }
  }

  /// A Beta(a, b) sample, as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
  static func beta(_ a: Double, _ b: Double, using random: inout SplitMix64) -> Double {
    let x = gamma(a, using: &random)
    let y = gamma(b, using: &random)
    return x + y > 0 ? x / (x + y) : 0.5
  }

  /// A Gamma(shape, 1) sample by Marsaglia and Tsang's method (shape ≥ 1; smaller shapes
  /// through the boost Gamma(a) = Gamma(a + 1) · U^(1/a)).
  static func gamma(_ shape: Double, using random: inout SplitMix64) -> Double {
    if shape < 1 {
      let boosted = gamma(shape + 1, using: &random)
      return boosted * pow(1 - random.nextUnit(), 1 / shape)
    }
    let d = shape - 1.0 / 3
    let c = 1 / (9 * d).squareRoot()
    // Acceptance is above 95% per try; the cap only bounds the loop.
    for _ in 0..<64 {
      let x = random.nextStandardNormal()
      let base = 1 + c * x
      guard base > 0 else { continue }
      let v = base * base * base
      let u = 1 - random.nextUnit()
      if u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
    }
    return d
  }
}
