/// The catalogue in memory: projected embeddings as one matrix for sgemv, with ids,
/// labels and base scores. Full embeddings stay in the store.
struct Catalog {
  private(set) var ids: [String] = []
  private(set) var labels: [[String]] = []
  private(set) var baseScores: [Float] = []
  /// `count × profileDimensions`, row-major.
  private(set) var projected: [Float] = []
  /// Each item's place by base score, best first: its "model rank" in `recommend`.
  private(set) var baseRanks: [UInt32] = []
  private var rowOfID: [String: Int] = [:]
  let dimensions: Int

  init(dimensions: Int) { self.dimensions = dimensions }

  var count: Int { ids.count }

  /// Adds an item, or replaces the one with the same id.
  mutating func upsert(id: String, projected embedding: [Float], labels itemLabels: [String], baseScore: Float) {
    if let row = rowOfID[id] {
      projected.replaceSubrange(row * dimensions..<(row + 1) * dimensions, with: embedding)
      labels[row] = itemLabels
      baseScores[row] = baseScore
      return
    }
    rowOfID[id] = ids.count
    ids.append(id)
    labels.append(itemLabels)
    baseScores.append(baseScore)
    projected.append(contentsOf: embedding)
  }

  /// Recomputes `baseRanks`; call after a round of upserts.
  mutating func rankByBaseScore() { baseRanks = Ranker.ranks(of: baseScores) }

  /// Whether adding `ids` would take the catalogue past `limit` items.
  func wouldExceed(_ limit: Int, adding newIDs: some Sequence<String>) -> Bool {
    var added = Set<String>()
    for id in newIDs where rowOfID[id] == nil { added.insert(id) }
    return ids.count + added.count > limit
  }

  /// The item's projected embedding and labels, if catalogued.
  func item(_ id: String) -> (projected: ArraySlice<Float>, labels: [String])? {
    guard let row = rowOfID[id] else { return nil }
    return (projected[row * dimensions..<(row + 1) * dimensions], labels[row])
  }
}
