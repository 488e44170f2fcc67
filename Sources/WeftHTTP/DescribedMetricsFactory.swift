import CoreMetrics
import Prometheus

/// swift-prometheus' factory, but timers, counters and histograms are made with their
/// help text (from `help`), so every family the loop records has a HELP line; the rest is
/// the stock factory's.
struct DescribedMetricsFactory: MetricsFactory {
  let base: PrometheusMetricsFactory
  let help: [String: String]

  func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
    base.registry.makeDurationHistogram(
      descriptor: described(label), labels: dimensions,
      buckets: base.durationHistogramBuckets[label] ?? base.defaultDurationHistogramBuckets)
  }

  func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
    base.registry.makeCounter(descriptor: described(label), labels: dimensions)
  }
  func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
    base.makeFloatingPointCounter(label: label, dimensions: dimensions)
  }
  func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
    guard aggregate else { return base.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate) }
    return base.registry.makeValueHistogram(
      descriptor: described(label), labels: dimensions, buckets: base.valueHistogramBuckets[label] ?? base.defaultValueHistogramBuckets)
  }
  func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
    base.makeMeter(label: label, dimensions: dimensions)
  }
  private func described(_ label: String) -> MetricNameDescriptor {
    MetricNameDescriptor(metricName: label, unitName: "", helpText: help[label] ?? "")
  }

  func destroyCounter(_ handler: any CounterHandler) { base.destroyCounter(handler) }
  func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { base.destroyFloatingPointCounter(handler) }
  func destroyRecorder(_ handler: any RecorderHandler) { base.destroyRecorder(handler) }
  func destroyMeter(_ handler: any MeterHandler) { base.destroyMeter(handler) }
  func destroyTimer(_ handler: any TimerHandler) { base.destroyTimer(handler) }
}
