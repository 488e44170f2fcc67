import Hummingbird
import Metrics
import Prometheus
import Synchronization
import WeftGateway
import WeftProtocol
import WeftRecommender

/// The gateway's metrics in Prometheus' text format, written by swift-prometheus from
/// the gateway's status at each scrape. Names and labels are listed in
/// docs/OPERATIONS.md ("Metrics").
///
/// The loop counts since it started; counters here advance by the difference from the
/// previous scrape, so they are Prometheus counters that never go back.
final class MeshMetrics: Sendable {
  /// The process's metrics: what swift-metrics records (the gateway's duration
  /// histograms) and what each scrape writes from the status.
  static let shared = MeshMetrics()
  private static let bootstrapped = Mutex(false)

  /// Upper bounds of the duration histograms' buckets: 50 µs to 30 s.
  static let durationBuckets: [Duration] = [
    .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
    .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
    .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
  ]

  /// Makes swift-metrics record into ``shared``; once per process, before the gateway
  /// makes its timers (later calls do nothing).
  static func bootstrap() {
    bootstrapped.withLock { done in
      guard !done else { return }
      var factory = PrometheusMetricsFactory(registry: shared.registry)
      factory.defaultDurationHistogramBuckets = durationBuckets
      factory.valueHistogramBuckets[GatewayMetricNames.batchSize] = GatewayMetricNames.batchSizeBuckets
      MetricsSystem.bootstrap(DescribedMetricsFactory(base: factory, help: GatewayMetricNames.help.merging(RecommenderMetricNames.help) { $1 }))
      done = true
    }
  }

  private let registry = PrometheusCollectorRegistry()
  /// What the previous scrape saw, so counters advance by the difference.
  private struct Previous {
    /// Each counter's value, by series.
    var counters: [String: UInt64] = [:]
    /// The process's CPU time.
    var cpuSeconds = 0.0
  }
  /// Held for a whole scrape, so two never interleave their updates.
  private let previous = Mutex(Previous())

  /// A scrape's answer: ``exposition(after:process:ofGateway:)`` in Prometheus' text format.
  func prometheusResponse(after status: MeshStatus?, ofGateway: Bool) -> Response {
    Response(
      status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
      body: ResponseBody(byteBuffer: ByteBuffer(string: exposition(after: status, process: ProcessFigures.current(), ofGateway: ofGateway))))
  }

  /// Updates every series from `status` (for a gateway; nil: its loop did not answer) and
  /// `process`, then writes them all out, what swift-metrics recorded included.
  func exposition(after status: MeshStatus?, process: ProcessFigures, ofGateway: Bool = true) -> String {
    previous.withLock { previous in
      if ofGateway { gauge("up", "1 if the gateway loop answered this scrape", [], status == nil ? 0 : 1) }
      if let status { update(from: status, &previous) }
      gauge("process_resident_memory_bytes", "resident memory of this process", [], process.residentBytes, namespaced: false)
      gauge("process_open_fds", "open file descriptors of this process", [], process.openFileDescriptors, namespaced: false)
      gauge("process_start_time_seconds", "start time of this process, seconds since the epoch", [], process.startTimeSeconds, namespaced: false)
      let cpu = registry.makeCounter(
        descriptor: MetricNameDescriptor(metricName: "process_cpu", unitName: "seconds_total", helpText: "CPU time of this process"),
        labels: [])
      cpu.increment(by: max(0, process.cpuSeconds - previous.cpuSeconds))
      previous.cpuSeconds = max(previous.cpuSeconds, process.cpuSeconds)
      return registry.emitToString()
    }
  }

  private func update(from status: MeshStatus, _ previous: inout Previous) {
    gauge("gateway_uptime_seconds", "seconds since the gateway started", [], Double(status.uptimeMs) / 1_000)
    for service in status.services {
      let labels = [("service", service.name)]
      gauge("queue_depth", "requests waiting for a worker", labels, Double(service.queueDepth))
      gauge("queue_limit", "requests that may wait for a worker", labels, Double(service.queueLimit))
      gauge("in_flight", "requests in the gateway (queued or on a worker)", labels, Double(service.inFlight))
      for version in service.versions {
        let versionLabels = labels + [("version", version.version)]
        let ready = version.workers.filter { !$0.draining }
        gauge("workers", "workers registered", versionLabels + [("state", "ready")], Double(ready.count))
        gauge("workers", "workers registered", versionLabels + [("state", "draining")], Double(version.workers.count - ready.count))
        gauge("worker_capacity", "requests the version's workers may hold", versionLabels, Double(version.workers.reduce(0) { $0 + Int($1.capacity) }))
        gauge("worker_in_flight", "requests on the version's workers", versionLabels, Double(version.workers.reduce(0) { $0 + Int($1.inFlight) }))
        gauge("route_share", "the version's share of traffic under its service's routing policy", versionLabels, version.share)
        outcomes("requests", "final replies to clients, by status code", versionLabels, version.served, &previous)
        outcomes("shadow_requests", "outcomes of shadow copies (replies dropped), by status code", versionLabels, version.shadow, &previous)
        counter("rewards", "rewards credited (weft.mesh/reward)", versionLabels, version.rewards, &previous)
        gauge("mean_reward", "mean reward credited", versionLabels, version.meanReward)
      }
    }
    for reply in status.replies { counter("replies", "replies sent to clients by the gateway, by status code", [("code", reply.code)], reply.count, &previous) }
    counter("redispatched", "requests sent again after their worker was lost", [], status.redispatched, &previous)
    counter("workers_evicted", "workers removed for silence", [], status.workersEvicted, &previous)
    for kind in status.malformed { counter("malformed_messages", "malformed messages refused, by kind", [("kind", kind.kind)], kind.count, &previous) }
    counter("undeliverable_replies", "replies that could not be handed to their client", [], status.undeliverable, &previous)
    counter("worker_messages_dropped", "messages to workers dropped at the worker queue's bound", [], status.workerMessagesDropped, &previous)
    counter("client_budget_refusals", "requests refused over a client's budget", [], status.clientBudgetRefusals, &previous)
    counter("replies_held", "replies kept because their client's queue was full", [], status.repliesHeld, &previous)
    counter("client_packs", "packed client messages read (several calls in one message)", [], status.clientPacks, &previous)
    counter("packed_requests", "requests read from packed client messages", [], status.packedRequests, &previous)
    gauge("held_reply_bytes", "bytes of replies kept for clients that are not reading", [], Double(status.heldReplyBytes))
    gauge("clients_behind", "clients with replies kept for them", [], Double(status.clientsBehind))
  }

  private func outcomes(
    _ name: String, _ help: String, _ labels: [(String, String)], _ figures: Weft_V1_VersionFigures, _ previous: inout Previous
  ) {
    let errors = figures.errors.reduce(0) { $0 + $1.count }
    counter(name, help, labels + [("code", "OK")], figures.requests - min(errors, figures.requests), &previous)
    for error in figures.errors { counter(name, help, labels + [("code", error.code)], error.count, &previous) }
  }

  private func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double, namespaced: Bool = true) {
    registry.makeGauge(
      descriptor: MetricNameDescriptor(namespace: namespaced ? "weft" : nil, metricName: name, unitName: "", helpText: help), labels: labels
    ).set(to: value)
  }

  private func counter(_ name: String, _ help: String, _ labels: [(String, String)], _ total: UInt64, _ previous: inout Previous) {
    let series = "\(name)\(labels)"
    let last = previous.counters[series] ?? 0
    previous.counters[series] = total
    let delta = total >= last ? total - last : total
    let made = registry.makeCounter(
      descriptor: MetricNameDescriptor(namespace: "weft", metricName: name, unitName: "total", helpText: help), labels: labels)
    if delta > 0 { made.increment(by: Int64(clamping: delta)) }
  }
}
