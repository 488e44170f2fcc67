import WeftModels
import WeftProtocol

/// How the exploration bonus is drawn.
public enum ExplorationStrategy: String, Sendable, CaseIterable {
  /// Thompson sampling: rank by one draw of the preference from the posterior; the
  /// bonus is that draw's deviation from the mean (it can be negative).
  case thompson
  /// Upper confidence bound: the bonus is the posterior standard deviation of the
  /// predicted reward, so items the profile knows least about rise.
  case ucb
}

/// The parts of each item's score, in item order.
struct ScoreParts {
  var modelPart: [Float]
  var affinity: [Float]
  var exploration: [Float]

  func total(_ index: Int) -> Float { modelPart[index] + affinity[index] + exploration[index] }

  /// Item indices best first; ties keep the input order.
  func ranking() -> [Int] { Ranker.order(of: modelPart.indices.map(total)) }
}

/// A user's affinity for labels: their mean residual reward on items with the label,
/// shrunk towards the population's by `priorEvents` pseudo-events.
struct LabelAffinities {
  let user: [String: LabelStatistics]
  let population: [String: LabelStatistics]
  let priorEvents: Double

  func affinity(_ label: String) -> Double {
    let everyone = population[label].map { $0.residualSum / (Double($0.events) + priorEvents) } ?? 0
    guard let own = user[label] else { return everyone }
    return (own.residualSum + priorEvents * everyone) / (Double(own.events) + priorEvents)
  }

  /// The mean affinity over an item's labels; 0 for an item without labels.
  func part(for labels: [String]) -> Double {
    guard !labels.isEmpty else { return 0 }
    return labels.reduce(0) { $0 + affinity($1) } / Double(labels.count)
  }
}

/// Items as the ranker reads them: each one's inner product with a profile-space vector
/// (the preference, a Thompson deviation), and, for UCB only, their projected rows.
struct ItemVectors {
  let innerProducts: ([Float]) -> [Float]
  let projectedRows: () -> [Float]

  /// Items whose projected rows are at hand (the catalogue).
  init(projected: [Float], count: Int, dimensions: Int) {
    innerProducts = { Ranker.product(projected, count: count, dimensions: dimensions, vector: $0) }
    projectedRows = { projected }
  }

  init(innerProducts: @escaping ([Float]) -> [Float], projectedRows: @escaping () -> [Float]) {
    self.innerProducts = innerProducts
    self.projectedRows = projectedRows
  }
}

/// Scores items for one user: the model's score, what the profile predicts, and an
/// exploration bonus, the first two with one sgemv over the projected embeddings.
enum Ranker {
  /// Indices of `scores`, best first; ties keep the input order.
  static func order(of scores: [Float]) -> [Int] {
    // Each score and its index packed into one integer whose ascending order is the
    // ranking's (best first, ties by index): a sort of plain integers, no closure.
    var keys = [UInt64](unsafeUninitializedCapacity: scores.count) { keys, initialized in
      for (index, score) in scores.enumerated() {
        // IEEE order as unsigned order: flip a negative's bits, set a positive's sign bit.
        let bits = (score == 0 ? 0 : score).bitPattern  // −0 ties with 0
        let ascending = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        keys[index] = UInt64(~ascending) << 32 | UInt64(index)
      }
      initialized = scores.count
    }
    keys.sort()
    return keys.map { Int($0 & 0xffff_ffff) }
  }

  /// Each score's place in `order(of:)`: 0 for the best.
  static func ranks(of scores: [Float]) -> [UInt32] {
    var ranks = [UInt32](repeating: 0, count: scores.count)
    for (rank, index) in order(of: scores).enumerated() { ranks[index] = UInt32(rank) }
    return ranks
  }

  static func score(
    items: ItemVectors, labels: [[String]], modelScores: [Float], modelWeight: Float,
    posterior: Posterior, labelAffinities: LabelAffinities,
    exploration: Float, strategy: ExplorationStrategy, random: inout SplitMix64
  ) -> ScoreParts {
    let count = modelScores.count
    let dimensions = posterior.dimensions
    var affinity = items.innerProducts(posterior.mean.map(Float.init))
    for index in 0..<count where !labels[index].isEmpty { affinity[index] += Float(labelAffinities.part(for: labels[index])) }
    var bonus = [Float](repeating: 0, count: count)
    if exploration > 0 && count > 0 {
      switch strategy {
      case .thompson:
        let z = (0..<dimensions).map { _ in random.nextStandardNormal() }
        bonus = items.innerProducts(posterior.deviation(standardNormal: z).map { Float($0) * exploration })
      case .ucb:
        bonus = standardDeviations(items.projectedRows(), count: count, posterior: posterior).map { $0 * exploration }
      }
    }
    return ScoreParts(modelPart: modelScores.map { $0 * modelWeight }, affinity: affinity, exploration: bonus)
  }

  /// `matrix[count × dimensions] · vector`.
  static func product(_ matrix: [Float], count: Int, dimensions: Int, vector: [Float]) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { output, initialized in
      matrix.withUnsafeBufferPointer { matrix in
        vector.withUnsafeBufferPointer { vector in
          Gemm.multiply(matrix.baseAddress!, vector: vector.baseAddress!, into: output.baseAddress!, rows: count, columns: dimensions)
        }
      }
      initialized = count
    }
  }

  /// √(xᵀA⁻¹x) for every row x: the rows of X·L⁻ᵀ, in one sgemm, and their lengths.
  private static func standardDeviations(_ matrix: [Float], count: Int, posterior: Posterior) -> [Float] {
    let dimensions = posterior.dimensions
    let inverse = posterior.inverseFactorRows()
    var whitened = [Float](repeating: 0, count: count * dimensions)
    matrix.withUnsafeBufferPointer { matrix in
      inverse.withUnsafeBufferPointer { inverse in
        whitened.withUnsafeMutableBufferPointer { output in
          Gemm.multiply(
            matrix.baseAddress!, inverse.baseAddress!, into: output.baseAddress!, m: count, n: dimensions, k: dimensions,
            bTransposed: true)
        }
      }
    }
    return (0..<count).map { row in
      var sum: Float = 0
      for column in 0..<dimensions {
        let value = whitened[row * dimensions + column]
        sum += value * value
      }
      return sum.squareRoot()
    }
  }
}
