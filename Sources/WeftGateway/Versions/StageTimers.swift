import Metrics

/// Request durations of one service version, by stage, for Prometheus histograms
/// (swift-metrics timers: no-ops until the process bootstraps a metrics backend, as
/// `weft gateway --http` does). Names are listed in docs/OPERATIONS.md ("Metrics").
struct StageTimers {
  /// Gateway receipt to reply.
  let total: Timer
  /// Waiting in the gateway for a worker.
  let gatewayQueue: Timer
  /// Waiting in the worker's batch queue.
  let workerQueue: Timer
  /// Running the model.
  let compute: Timer

  init(service: String, version: String) {
    let dimensions = [("service", service), ("version", version)]
    typealias Names = GatewayTimerNames
    total = Timer(label: Names.total, dimensions: dimensions)
    gatewayQueue = Timer(label: Names.gatewayQueue, dimensions: dimensions)
    workerQueue = Timer(label: Names.workerQueue, dimensions: dimensions)
    compute = Timer(label: Names.compute, dimensions: dimensions)
  }

  /// Records one final reply; the worker's stages are known when a worker replied.
  func record(total: UInt64, gatewayQueue: UInt64, workerQueue: UInt64? = nil, compute: UInt64? = nil) {
    self.total.recordMicroseconds(total)
    self.gatewayQueue.recordMicroseconds(gatewayQueue)
    if let workerQueue { self.workerQueue.recordMicroseconds(workerQueue) }
    if let compute { self.compute.recordMicroseconds(compute) }
  }
}

/// The names of the gateway's duration histograms (swift-metrics timer labels, labelled
/// by `service` and `version`) and what each measures, for the metrics backend's HELP.
public enum GatewayTimerNames {
  /// Gateway receipt to final reply.
  public static let total = "weft_request_duration_seconds"
  /// Waiting in the gateway for a worker.
  public static let gatewayQueue = "weft_request_gateway_queue_seconds"
  /// Waiting in the worker's batch queue.
  public static let workerQueue = "weft_request_worker_queue_seconds"
  /// The model's time for the request's batch.
  public static let compute = "weft_request_compute_seconds"

  /// Help text by name.
  public static let help: [String: String] = [
    total: "gateway receipt to final reply, per request",
    gatewayQueue: "time a request waited in the gateway for a worker",
    workerQueue: "time a request waited in its worker's batch queue",
    compute: "time the model ran for a request's batch",
  ]
}
