import Foundation
import WeftProtocol

/// A model a worker hosts: what it serves, and batch inference.
///
/// The worker runtime calls `infer` from its compute thread with up to
/// `descriptor.maxBatchSize` requests of one method. Weights are loaded before the
/// model is handed to the runtime, so a worker is READY only once it can answer.
public protocol Model: Sendable {
  /// What the model serves and how it likes to be batched.
  var descriptor: ModelDescriptor { get }

  /// Runs a batch; returns one response per request, in order.
  ///
  /// A streaming method may send responses early through `partials`; the returned
  /// response is then the last one. Throwing fails every request of the batch:
  /// with the error's code if it is a ``WeftError``, otherwise `INTERNAL`.
  func infer(_ batch: [InferenceRequest], partials: PartialSink) throws -> [InferenceResponse]
}

/// What a model serves, advertised to the gateway in READY.
public struct ModelDescriptor: Sendable, Equatable {
  /// The service clients call, e.g. `text`.
  public var service: String
  /// The model version, e.g. `minilm-l6-v2`.
  public var version: String
  /// The methods of the service, from its generated method table (`TextService.methods`).
  public var methods: [AnyServiceMethod]
  /// Most requests per `infer` call.
  public var maxBatchSize: Int
  /// Longest a request waits for others to fill its batch.
  public var maxBatchDelay: Duration
  /// Inference is trivial (no real compute): run it on the socket thread, skipping the
  /// hand-off to the compute thread. Only for models like `echo`.
  public var runsInline: Bool

  /// Creates a descriptor.
  public init(
    service: String, version: String, methods: [AnyServiceMethod], maxBatchSize: Int = 1,
    maxBatchDelay: Duration = .zero, runsInline: Bool = false
  ) {
    self.service = service
    self.version = version
    self.methods = methods
    self.maxBatchSize = max(1, maxBatchSize)
    self.maxBatchDelay = maxBatchDelay
    self.runsInline = runsInline
  }

  /// The method called `name`, if served.
  public func method(named name: String) -> AnyServiceMethod? { methods.first { $0.name == name } }
}

/// One request as a model sees it.
public struct InferenceRequest: Sendable {
  /// The method called.
  public var method: String
  /// The client's header (user id, metadata, version selector…).
  public var header: RequestHeader
  /// The body frames, as the client sent them.
  public var body: [Data]
  /// When the client stops waiting; a model may skip work past it.
  public var deadline: ContinuousClock.Instant

  /// Creates a request.
  public init(method: String, header: RequestHeader, body: [Data], deadline: ContinuousClock.Instant) {
    self.method = method
    self.header = header
    self.body = body
    self.deadline = deadline
  }
}

/// One response of a model: a status and body frames.
public struct InferenceResponse: Sendable {
  /// OK, or why the request failed.
  public var status: StatusCode
  /// Why, when `status` is not OK.
  public var message: String
  /// The body frames of the reply.
  public var body: [Data]
  /// Response metadata.
  public var metadata: [String: MetadataValue]

  /// A successful response.
  public static func ok(_ body: [Data], metadata: [String: MetadataValue] = [:]) -> InferenceResponse {
    InferenceResponse(status: .ok, message: "", body: body, metadata: metadata)
  }

  /// A failed response.
  public static func failure(_ error: WeftError) -> InferenceResponse {
    InferenceResponse(status: error.code, message: error.message, body: [], metadata: error.metadata)
  }

  /// Creates a response.
  public init(status: StatusCode, message: String, body: [Data], metadata: [String: MetadataValue] = [:]) {
    self.status = status
    self.message = message
    self.body = body
    self.metadata = metadata
  }
}

/// Where a streaming method sends responses before its final one.
public struct PartialSink: Sendable {
  private let send: @Sendable (_ index: Int, _ response: InferenceResponse) -> Void

  /// Creates a sink; `send` receives the request's index in the batch and the response.
  public init(_ send: @escaping @Sendable (_ index: Int, _ response: InferenceResponse) -> Void) {
    self.send = send
  }

  /// A sink that drops everything, for non-streaming callers.
  public static let discard = PartialSink { _, _ in }

  /// Sends a partial response for request `index` of the batch.
  public func emit(_ response: InferenceResponse, for index: Int) { send(index, response) }
}
