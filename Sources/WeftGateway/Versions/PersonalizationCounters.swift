import Metrics

/// Personalisation outcomes per service, as swift-metrics counters
/// (`weft_personalizations_total{service, outcome}`), made the first time each is counted.
struct PersonalizationCounters {
  /// What became of a request that asked for personalisation.
  enum Outcome: String {
    /// The recommender's ranking went to the client.
    case personalized
    /// The recommender failed or was late: the model's reply went out unchanged.
    case fallback
    /// Not tried: no recommender, no time left, or its queue was full.
    case skipped
  }

  private var counters: [String: [Outcome: Counter]] = [:]

  mutating func count(service: String, _ outcome: Outcome) {
    if let counter = counters[service]?[outcome] { return counter.increment() }
    let counter = Counter(label: GatewayMetricNames.personalizations, dimensions: [("service", service), ("outcome", outcome.rawValue)])
    counters[service, default: [:]][outcome] = counter
    counter.increment()
  }
}
