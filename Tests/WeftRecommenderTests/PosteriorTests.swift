import Testing
import WeftProtocol

@testable import WeftRecommender

/// The profile model's algebra against a direct solve of the normal equations.
@Suite struct PosteriorTests {
  /// Solves `a·x = b` by Gaussian elimination with partial pivoting (an independent check of the Cholesky path).
  private func solve(_ a: [[Double]], _ b: [Double]) -> [Double] {
    var a = a
    var b = b
    let n = b.count
    for column in 0..<n {
      let pivot = (column..<n).max { abs(a[$0][column]) < abs(a[$1][column]) }!
      a.swapAt(column, pivot)
      b.swapAt(column, pivot)
      for row in (column + 1)..<n {
        let factor = a[row][column] / a[column][column]
        for k in column..<n { a[row][k] -= factor * a[column][k] }
        b[row] -= factor * b[column]
      }
    }
    var x = [Double](repeating: 0, count: n)
    for row in stride(from: n - 1, through: 0, by: -1) {
      var sum = b[row]
      for k in (row + 1)..<n { sum -= a[row][k] * x[k] }
      x[row] = sum / a[row][row]
    }
    return x
  }

  @Test func theMeanSolvesTheRegularisedNormalEquations() {
    let dimensions = 4
    var random = SplitMix64(seed: 7)
    var profile = StoredProfile.empty(user: "u", dimensions: dimensions)
    var observations: [([Float], Double)] = []
    for _ in 0..<9 {
      let x = (0..<dimensions).map { _ in Float(random.nextStandardNormal()) }
      let reward = random.nextUnit() * 2 - 1
      observations.append((x, reward))
      x.withUnsafeBufferPointer { profile.observe($0, reward: reward) }
    }
    let prior: [Double] = [0.3, -0.2, 0.1, 0.0]
    let lambda = 1.5
    let posterior = Posterior(statistics: profile, priorMean: prior, priorPrecision: lambda)

    var a = (0..<dimensions).map { row in (0..<dimensions).map { $0 == row ? lambda : 0 } }
    var b = prior.map { $0 * lambda }
    for (x, reward) in observations {
      for row in 0..<dimensions {
        b[row] += reward * Double(x[row])
        for column in 0..<dimensions { a[row][column] += Double(x[row]) * Double(x[column]) }
      }
    }
    let expected = solve(a, b)
    for (got, want) in zip(posterior.mean, expected) { #expect(abs(got - want) < 1e-9) }

    // UCB's width: ‖L⁻¹x‖ must be √(xᵀA⁻¹x).
    let x: [Double] = [0.5, -1, 0.25, 2]
    let inverseTimesX = solve(a, x)
    let variance = zip(x, inverseTimesX).reduce(0) { $0 + $1.0 * $1.1 }
    let inverse = posterior.inverseFactorRows()
    var whitenedLength = 0.0
    for row in 0..<dimensions {
      var value = 0.0
      for column in 0..<dimensions { value += Double(inverse[row * dimensions + column]) * x[column] }
      whitenedLength += value * value
    }
    #expect(abs(whitenedLength - variance) < 1e-5 * variance)
  }

  @Test func thompsonDeviationsHaveThePosteriorCovariance() {
    var profile = StoredProfile.empty(user: "u", dimensions: 2)
    // Many observations along the first axis: little doubt there, the prior's along the second.
    for _ in 0..<99 { [Float(1), 0].withUnsafeBufferPointer { profile.observe($0, reward: 1) } }
    let posterior = Posterior(statistics: profile, priorMean: nil, priorPrecision: 1)
    var random = SplitMix64(seed: 3)
    var sums = [0.0, 0.0]
    let draws = 20_000
    for _ in 0..<draws {
      let deviation = posterior.deviation(standardNormal: [random.nextStandardNormal(), random.nextStandardNormal()])
      sums[0] += deviation[0] * deviation[0]
      sums[1] += deviation[1] * deviation[1]
    }
    // Variances: 1/(1+99) along the first axis, 1/1 along the second, within sampling error (~2%).
    #expect(abs(sums[0] / Double(draws) - 0.01) < 0.001)
    #expect(abs(sums[1] / Double(draws) - 1) < 0.05)
  }

  @Test func mergingAndUnmergingAProfileRestoresThePopulation() {
    var user = StoredProfile.empty(user: "u", dimensions: 3)
    [Float(1), 2, 3].withUnsafeBufferPointer { user.observe($0, reward: 0.5) }
    user.events = 1
    user.rewardSum = 0.5
    user.labels["jazz"] = LabelStatistics(events: 1, residualSum: 0.25)
    var population = StoredProfile.empty(user: "", dimensions: 3)
    population.merge(user, sign: 1)
    #expect(population.gram == user.gram)
    #expect(population.labels["jazz"]?.events == 1)
    population.merge(user, sign: -1)
    #expect(population.gram.allSatisfy { $0 == 0 })
    #expect(population.events == 0)
    #expect(population.labels.isEmpty)
  }

  @Test func theCacheHoldsAtMostItsCapacityAndKeepsWhatIsUsed() {
    var cache = GenerationalCache<Int, Int>(capacity: 10)
    cache.insert(0, for: 0)
    for key in 1..<1_000 {
      cache.insert(key, for: key)
      _ = cache.value(for: 0)
      #expect(cache.count <= 10)
    }
    #expect(cache.value(for: 0) == 0)
    #expect(cache.value(for: 1) == nil)
  }
}

/// The ranking order against a plain sort by score, ties by index.
@Suite struct RankerOrderTests {
  @Test func theOrderIsBestFirstWithTiesByIndex() {
    var random = SplitMix64(seed: 5)
    for _ in 0..<200 {
      let scores: [Float] = (0..<Int(random.nextUnit() * 60)).map { _ in
        let pick = random.nextUnit()
        return pick < 0.2 ? [0, -0.0, 1, -1][Int(random.nextUnit() * 4)] : Float(random.nextUnit() * 20 - 10)
      }
      let expected = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
      #expect(Ranker.order(of: scores) == expected)
    }
    #expect(Ranker.order(of: [-Float.greatestFiniteMagnitude, .greatestFiniteMagnitude, -.leastNonzeroMagnitude]) == [1, 2, 0])
  }
}
