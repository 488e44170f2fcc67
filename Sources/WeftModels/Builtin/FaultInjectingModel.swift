import WeftProtocol

/// A model that fails a set fraction of its requests with INTERNAL and passes the rest
/// to the model it wraps: for testing how a mesh treats a bad version (error figures,
/// a ramp's roll-back). Not for serving real traffic.
public struct FaultInjectingModel: Model {
  /// The model that answers the requests that are not failed.
  public let inner: any Model
  /// The fraction of requests failed, 0 to 1.
  public let failureRate: Double

  /// Wraps `inner`, failing `failureRate` of the requests at random.
  public init(wrapping inner: any Model, failureRate: Double) {
    self.inner = inner
    self.failureRate = min(max(failureRate, 0), 1)
  }

  public var descriptor: ModelDescriptor { inner.descriptor }

  public func infer(_ batch: [InferenceRequest], partials: PartialSink) throws -> [InferenceResponse] {
    let failed = batch.map { _ in Double.random(in: 0..<1) < failureRate }
    let passed = batch.indices.filter { !failed[$0] }
    var responses = batch.map { _ in InferenceResponse.failure(WeftError(.internal, "injected fault (failure rate \(failureRate))")) }
    guard !passed.isEmpty else { return responses }
    let innerPartials = PartialSink { index, response in partials.emit(response, for: passed[index]) }
    let answered = try inner.infer(passed.map { batch[$0] }, partials: innerPartials)
    for (index, response) in zip(passed, answered) { responses[index] = response }
    return responses
  }
}
