import COpenBLAS

/// A user's preference belief: Bayesian linear regression of reward on the projected
/// embedding, `reward ≈ w·x + noise`, with the prior `w ~ N(μ₀, (1/λ)·I)`.
///
/// The posterior has precision `A = λI + Σxxᵀ` and mean `A⁻¹(λμ₀ + Σrx)`. The prior
/// mean μ₀ is the population's posterior mean (everyone's feedback under the same prior
/// around 0), so a new user starts from what users like on average and their own
/// feedback takes over as it accumulates.
struct Posterior: Sendable {
  let dimensions: Int
  /// The posterior mean of `w`.
  let mean: [Double]
  /// The Cholesky factor L of the precision A = L·Lᵀ, column-major, lower triangle.
  let factor: [Double]

  /// The posterior for `statistics` under a prior centred on `priorMean` with precision `priorPrecision`.
  init(statistics: StoredProfile, priorMean: [Double]?, priorPrecision: Double) {
    let size = statistics.rewardVector.count
    dimensions = size
    var precision = [Double](repeating: 0, count: size * size)
    var packed = 0
    for row in 0..<size {
      for column in row..<size {
        precision[row * size + column] = statistics.gram[packed]
        precision[column * size + row] = statistics.gram[packed]
        packed += 1
      }
      precision[row * size + row] += priorPrecision
    }
    var target = statistics.rewardVector
    if let priorMean {
      for index in 0..<size { target[index] += priorPrecision * priorMean[index] }
    }
    // A is λI plus a Gram matrix, so positive definite for λ > 0: the factorisation holds.
    var info: Int32 = 0
    var order = Int32(size)
    var leading = Int32(size)
    dpotrf_("L", &order, &precision, &leading, &info)
    precondition(info == 0, "the posterior precision must be positive definite (dpotrf info \(info))")
    factor = precision
    mean = Posterior.solve(factor: precision, size: size, target)
  }

  /// A⁻¹·b, by two triangular solves with L and Lᵀ.
  private static func solve(factor: [Double], size: Int, _ vector: [Double]) -> [Double] {
    var result = vector
    cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, Int32(size), factor, Int32(size), &result, 1)
    cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, Int32(size), factor, Int32(size), &result, 1)
    return result
  }

  /// A draw of `w − mean` from the posterior: L⁻ᵀz with z standard normal, which has
  /// covariance A⁻¹. Thompson sampling ranks by `mean + scale·draw`.
  func deviation(standardNormal z: [Double]) -> [Double] {
    var result = z
    cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, Int32(dimensions), factor, Int32(dimensions), &result, 1)
    return result
  }

  /// L⁻¹ as a row-major Float matrix, so that ‖L⁻¹x‖ = √(xᵀA⁻¹x), the posterior
  /// standard deviation of `w·x` that UCB's bonus scales, for many x in one sgemm.
  func inverseFactorRows() -> [Float] {
    var inverse = [Double](repeating: 0, count: dimensions * dimensions)
    for column in 0..<dimensions {
      var unit = [Double](repeating: 0, count: dimensions)
      unit[column] = 1
      cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, Int32(dimensions), factor, Int32(dimensions), &unit, 1)
      for row in 0..<dimensions { inverse[row * dimensions + column] = unit[row] }
    }
    return inverse.map(Float.init)
  }
}

extension StoredProfile {
  /// Adds one observation: `reward` for the projected embedding `x`.
  mutating func observe(_ x: UnsafeBufferPointer<Float>, reward: Double) {
    var packed = 0
    for row in 0..<x.count {
      let scaled = Double(x[row])
      rewardVector[row] += reward * scaled
      for column in row..<x.count {
        gram[packed] += scaled * Double(x[column])
        packed += 1
      }
    }
  }

  /// Adds (`sign` 1) or removes (`sign` −1) another profile's statistics: how the
  /// population gains a user's feedback and loses it when the user is deleted.
  mutating func merge(_ other: StoredProfile, sign: Double) {
    events = sign > 0 ? events + other.events : events - min(events, other.events)
    rewardSum += sign * other.rewardSum
    for index in gram.indices { gram[index] += sign * other.gram[index] }
    for index in rewardVector.indices { rewardVector[index] += sign * other.rewardVector[index] }
    for (label, statistics) in other.labels {
      var merged = labels[label] ?? LabelStatistics(events: 0, residualSum: 0)
      merged.events = sign > 0 ? merged.events + statistics.events : merged.events - min(merged.events, statistics.events)
      merged.residualSum += sign * statistics.residualSum
      labels[label] = merged.events == 0 ? nil : merged
    }
  }
}
