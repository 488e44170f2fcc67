/// The candidates of recent personalise calls, so feedback on one of them needs only its
/// id: each call's ids, embeddings and labels kept as they came (one array each per call,
/// nothing per candidate), indexed by id only when feedback next looks one up, and an
/// embedding projected only when feedback asks for its item: a personalise call, far
/// more frequent than feedback on what it showed, pays for neither.
///
/// Bounded twice: the index holds at most `capacity` ids (a two-generation cache, so an
/// id shown again stays), and the calls' embeddings at most `capacity × dimensions`
/// values; a call pushed out takes its candidates with it.
struct RecentCandidates {
  /// One call's candidates: `embeddings` is `count × dimensions`, row-major, a zero row
  /// where `hasEmbedding` is false.
  private final class Call {
    let serial: UInt64
    let ids: [String]
    let embeddings: [Float]
    let hasEmbedding: [Bool]
    let labels: [[String]]
    let remembered: [Bool]
    init(serial: UInt64, ids: [String], embeddings: [Float], hasEmbedding: [Bool], labels: [[String]], remembered: [Bool]) {
      (self.serial, self.ids, self.embeddings, self.hasEmbedding) = (serial, ids, embeddings, hasEmbedding)
      (self.labels, self.remembered) = (labels, remembered)
    }
  }

  /// Where an id was shown: the call's serial (not the call itself, so a call pushed out
  /// is freed at once) and its row.
  private struct Place {
    let serial: UInt64
    let row: Int
  }

  private var index: GenerationalCache<String, Place>
  /// Held calls, oldest first, with consecutive serials.
  private var calls: [Call] = []
  private var heldValues = 0
  private var nextSerial: UInt64 = 0
  /// Calls from this serial on are not in the index yet.
  private var firstUnindexed: UInt64 = 0
  private let budgetValues: Int
  let dimensions: Int

  init(capacity: Int, dimensions: Int) {
    index = GenerationalCache(capacity: capacity)
    budgetValues = max(1, capacity) * dimensions
    self.dimensions = dimensions
  }

  /// Remembers the candidates `remember` marks, at their rows of `embeddings`.
  mutating func remember(ids: [String], embeddings: [Float], hasEmbedding: [Bool], labels: [[String]], where remember: [Bool]) {
    guard remember.contains(true) else { return }
    let call = Call(serial: nextSerial, ids: ids, embeddings: embeddings, hasEmbedding: hasEmbedding, labels: labels, remembered: remember)
    nextSerial += 1
    heldValues += max(embeddings.count, ids.count)
    calls.append(call)
    while heldValues > budgetValues, calls.count > 1 {
      let dropped = calls.removeFirst()
      heldValues -= max(dropped.embeddings.count, dropped.ids.count)
    }
  }

  /// The item's projected embedding (nil when its call sent none for it) and labels.
  mutating func features(of id: String, projection: Projection) -> (projected: [Float]?, labels: [String])? {
    indexNewCalls()
    guard let place = index.value(for: id), let first = calls.first?.serial, place.serial >= first else { return nil }
    let call = calls[Int(place.serial - first)]
    guard call.hasEmbedding[place.row] else { return (nil, call.labels[place.row]) }
    let row = Array(call.embeddings[place.row * dimensions..<(place.row + 1) * dimensions])
    return (projection.project(row), call.labels[place.row])
  }

  /// Adds the ids of calls made since the last lookup, oldest first, so an id shown again
  /// points at its latest showing.
  private mutating func indexNewCalls() {
    guard let first = calls.first?.serial, firstUnindexed < nextSerial else { return }
    for call in calls[Int(max(firstUnindexed, first) - first)...] {
      for (row, id) in call.ids.enumerated() where call.remembered[row] {
        index.insert(Place(serial: call.serial, row: row), for: id)
      }
    }
    firstUnindexed = nextSerial
  }
}
