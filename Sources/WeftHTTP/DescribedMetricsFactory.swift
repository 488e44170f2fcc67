import CoreMetrics
import Prometheus

/// swift-prometheus' factory, but timers are made with their help text (from
/// `help`), so every histogram family has a HELP line; the rest is the stock factory's.
struct DescribedMetricsFactory: MetricsFactory {
  let base: PrometheusMetricsFactory
  let help: [String: String]

  func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
    base.registry.makeDurationHistogram(
      descriptor: MetricNameDescriptor(metricName: label, unitName: "", helpText: help[label] ?? ""), labels: dimensions,
      buckets: base.durationHistogramBuckets[label] ?? base.defaultDurationHistogramBuckets)
  }

  func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
    base.makeCounter(label: label, dimensions: dimensions)
  }
  func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
    base.makeFloatingPointCounter(label: label, dimensions: dimensions)
  }
  func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
    base.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
  }
  func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
    base.makeMeter(label: label, dimensions: dimensions)
  }
  func destroyCounter(_ handler: any CounterHandler) { base.destroyCounter(handler) }
  func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { base.destroyFloatingPointCounter(handler) }
  func destroyRecorder(_ handler: any RecorderHandler) { base.destroyRecorder(handler) }
  func destroyMeter(_ handler: any MeterHandler) { base.destroyMeter(handler) }
  func destroyTimer(_ handler: any TimerHandler) { base.destroyTimer(handler) }
}
