import Metrics

/// Request durations of one service version, by stage, and the sizes of the batches its
/// replies came from, for Prometheus histograms (swift-metrics timers and a recorder:
/// no-ops until the process bootstraps a metrics backend, as `weft gateway --http` does).
/// Names are listed in docs/OPERATIONS.md ("Metrics").
struct StageTimers {
  /// Gateway receipt to reply.
  let total: Timer
  /// Waiting in the gateway for a worker.
  let gatewayQueue: Timer
  /// Waiting in the worker's batch queue.
  let workerQueue: Timer
  /// Running the model.
  let compute: Timer
  /// How many requests shared the model invocation of a reply.
  let batchSize: Recorder

  init(service: String, version: String) {
    let dimensions = [("service", service), ("version", version)]
    typealias Names = GatewayMetricNames
    total = Timer(label: Names.total, dimensions: dimensions)
    gatewayQueue = Timer(label: Names.gatewayQueue, dimensions: dimensions)
    workerQueue = Timer(label: Names.workerQueue, dimensions: dimensions)
    compute = Timer(label: Names.compute, dimensions: dimensions)
    batchSize = Recorder(label: Names.batchSize, dimensions: dimensions, aggregate: true)
  }

  /// Records one final reply; the worker's stages and batch are known when a worker replied.
  func record(total: UInt64, gatewayQueue: UInt64, workerQueue: UInt64? = nil, compute: UInt64? = nil, batchSize: UInt64? = nil) {
    self.total.recordMicroseconds(total)
    self.gatewayQueue.recordMicroseconds(gatewayQueue)
    if let workerQueue { self.workerQueue.recordMicroseconds(workerQueue) }
    if let compute { self.compute.recordMicroseconds(compute) }
    if let batchSize, batchSize > 0 { self.batchSize.record(Int64(clamping: batchSize)) }
  }
}

/// The names of the metrics the gateway loop records through swift-metrics (timers and
/// the batch-size recorder labelled by `service` and `version`, personalisation counters
/// by `service` and `outcome`) and what each measures, for the metrics backend's HELP.
public enum GatewayMetricNames {
  /// Gateway receipt to final reply.
  public static let total = "weft_request_duration_seconds"
  /// Waiting in the gateway for a worker.
  public static let gatewayQueue = "weft_request_gateway_queue_seconds"
  /// Waiting in the worker's batch queue.
  public static let workerQueue = "weft_request_worker_queue_seconds"
  /// The model's time for the request's batch.
  public static let compute = "weft_request_compute_seconds"
  /// Requests per model invocation, per reply.
  public static let batchSize = "weft_batch_size"
  /// Personalisation outcomes.
  public static let personalizations = "weft_personalizations_total"

  /// Upper bounds of the batch-size histogram's buckets.
  public static let batchSizeBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1_024, 4_096]

  /// Help text by name.
  public static let help: [String: String] = [
    total: "gateway receipt to final reply, per request",
    gatewayQueue: "time a request waited in the gateway for a worker",
    workerQueue: "time a request waited in its worker's batch queue",
    compute: "time the model ran for a request's batch",
    batchSize: "requests that shared the model invocation of each reply",
    personalizations: "personalised requests by outcome: personalized, fallback (the recommender failed or was late), skipped (not tried)",
  ]
}
