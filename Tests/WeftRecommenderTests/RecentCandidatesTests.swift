import Testing

@testable import WeftRecommender

/// The bounded memory of personalised candidates that feedback looks items up in.
@Suite struct RecentCandidatesTests {
  private let identity = Projection(layout: ProfileLayout(embeddingDimensions: 2, profileDimensions: 2, projectionSeed: 1))

  private func call(_ ids: [String], value: Float) -> (ids: [String], embeddings: [Float], has: [Bool], labels: [[String]]) {
    (ids, ids.flatMap { _ in [value, -value] }, ids.map { _ in true }, ids.map { ["label-\($0)"] })
  }

  @Test func anItemShownAgainIsFoundAsItWasShownLast() {
    var recent = RecentCandidates(capacity: 100, dimensions: 2)
    for value in [Float(1), 2] {
      let shown = call(["a", "b"], value: value)
      recent.remember(ids: shown.ids, embeddings: shown.embeddings, hasEmbedding: shown.has, labels: shown.labels, where: [true, true])
    }
    #expect(recent.features(of: "a", projection: identity)?.projected == [2, -2])
    #expect(recent.features(of: "b", projection: identity)?.labels == ["label-b"])
    #expect(recent.features(of: "c", projection: identity) == nil)
  }

  @Test func candidatesNotMarkedAndCallsPastTheBudgetAreForgotten() {
    // Capacity 4 ids of 2 values: 8 values of embeddings.
    var recent = RecentCandidates(capacity: 4, dimensions: 2)
    let first = call(["old-1", "old-2"], value: 1)
    recent.remember(ids: first.ids, embeddings: first.embeddings, hasEmbedding: first.has, labels: first.labels, where: [true, false])
    #expect(recent.features(of: "old-1", projection: identity) != nil)
    #expect(recent.features(of: "old-2", projection: identity) == nil)
    for round in 0..<3 {
      let later = call(["new-\(round)-1", "new-\(round)-2"], value: 3)
      recent.remember(ids: later.ids, embeddings: later.embeddings, hasEmbedding: later.has, labels: later.labels, where: [true, true])
    }
    // Three later calls hold 12 values, past the budget of 8: the first call's went.
    #expect(recent.features(of: "old-1", projection: identity) == nil)
    #expect(recent.features(of: "new-2-2", projection: identity)?.projected == [3, -3])
  }
}
