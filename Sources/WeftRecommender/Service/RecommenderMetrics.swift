import Metrics

/// The recommender's own metrics, through swift-metrics: no-ops unless the process
/// bootstraps a backend, as `weft recommender --http` does. Listed in docs/OPERATIONS.md.
struct RecommenderMetrics {
  private let appliedEvents = Counter(label: RecommenderMetricNames.feedbackEvents, dimensions: [("outcome", "applied")])
  private let duplicateEvents = Counter(label: RecommenderMetricNames.feedbackEvents, dimensions: [("outcome", "duplicate")])
  private let refusedEvents = Counter(label: RecommenderMetricNames.feedbackEvents, dimensions: [("outcome", "refused")])
  private let commit = Timer(label: RecommenderMetricNames.commit)
  private let profilesCached = Gauge(label: RecommenderMetricNames.profilesCached)

  /// A request's events, applied or already seen, once their commit is durable.
  func recorded(applied: UInt32, duplicates: UInt32) {
    appliedEvents.increment(by: Int(applied))
    duplicateEvents.increment(by: Int(duplicates))
  }

  /// Events of a request that was refused or whose commit failed.
  func refused(_ events: Int) { refusedEvents.increment(by: events) }

  /// A group commit that took `duration`.
  func committed(in duration: Duration) { commit.recordNanoseconds(Int64(duration / .nanoseconds(1))) }

  /// The profiles in memory now.
  func cached(_ profiles: Int) { profilesCached.record(profiles) }
}

/// The names of the recommender's metrics and what each measures, for the backend's HELP.
public enum RecommenderMetricNames {
  /// Feedback events by outcome: applied, duplicate (an event id seen before), refused.
  public static let feedbackEvents = "weft_recommender_feedback_events_total"
  /// Time of each feedback group commit, the store's transaction included.
  public static let commit = "weft_recommender_commit_seconds"
  /// Profiles held in memory.
  public static let profilesCached = "weft_recommender_profiles_cached"

  /// Help text by name.
  public static let help: [String: String] = [
    feedbackEvents: "feedback events by outcome: applied, duplicate (event id seen before), refused (bad request or failed commit)",
    commit: "time of each feedback group commit, the store's transaction included",
    profilesCached: "user profiles held in memory",
  ]
}
