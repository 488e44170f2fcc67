import Foundation
import Logging
import SwiftProtobuf
import Synchronization
import WeftProtocol
import ZeroMQ

/// A client of a Weft mesh: many calls in flight over one connection.
///
/// One I/O thread owns a DEALER socket per gateway and spreads calls round-robin over the
/// gateways whose connection is up, watching each with ZMTP heartbeats. When a gateway is
/// lost (it dies, or goes silent for 600 ms), its idempotent calls are sent again through
/// a live one within their deadline, and the others fail at once with `UNAVAILABLE`; a
/// gateway that comes back is used again. Calls are `async`, carry a deadline, and fail
/// with ``WeftError``; cancelling the calling task ends the call with `CANCELLED` and
/// tells the gateway, which cancels it at its worker. Call `close()` when done (or let the
/// last reference go).
public final class WeftClient: Sendable {
  let io: ClientIO
  private let nextRequestID = Atomic<UInt64>(1)

  /// A request id not used before by this client.
  func nextCallID() -> UInt64 { nextRequestID.add(1, ordering: .relaxed).oldValue }

  /// Connects to one or more gateway frontends, e.g. `tcp://127.0.0.1:5555`; with
  /// `curve`, over CURVE (the gateways must list the client's public key).
  public init(gateways: [String], curve: CurveClientCredentials? = nil, logger: Logger? = nil) throws {
    guard !gateways.isEmpty else { throw ConfigurationError("WeftClient needs at least one gateway endpoint") }
    // Each call records the gateways it was sent to as bits of a UInt64.
    guard gateways.count <= 64 else { throw ConfigurationError("WeftClient takes at most 64 gateways; \(gateways.count) were given") }
    io = try ClientIO(
      gateways: gateways, curve: curve, context: nil,
      logger: logger ?? Logger(label: "weft.client", factory: { _ in SwiftLogNoOpLogHandler() }))
  }

  /// Connects in-process to a gateway in this process (``Gateway/inProcessEndpoint``, on
  /// the gateway's `context`).
  public init(inProcessGateway endpoint: String, context: Context, logger: Logger? = nil) throws {
    io = try ClientIO(
      gateways: [endpoint], curve: nil, context: context,
      logger: logger ?? Logger(label: "weft.client", factory: { _ in SwiftLogNoOpLogHandler() }))
  }

  deinit { io.close() }

  /// Stops the I/O thread; calls still waiting fail with `CANCELLED`.
  public func close() { io.close() }

  /// Calls `service.method` and returns its final response.
  ///
  /// - Throws: ``WeftError`` with the status of a failed call, `DEADLINE_EXCEEDED` when no
  ///   reply came in time, or `CANCELLED` if the task was cancelled.
  public func call(
    _ service: String, _ method: String, body: [Data] = [], options: CallOptions = CallOptions()
  ) async throws -> Response {
    let id = nextRequestID.add(1, ordering: .relaxed).oldValue
    let frames = try encode(id: id, service: service, method: method, body: body, options: options)
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Response, any Error>) in
        io.submit(id: id, frames: frames, timeout: options.timeout, idempotent: options.idempotent) { result in
          switch result {
          case .success(let response) where response.isFinal:
            if let error = WeftError(header: response.header) {
              continuation.resume(throwing: error)
            } else {
              continuation.resume(returning: response)
            }
            return true
          case .success:
            return false  // a partial response; a unary call waits for the final one
          case .failure(let error):
            continuation.resume(throwing: error)
            return true
          }
        }
      }
    } onCancel: {
      io.cancel(id: id)
    }
  }

  /// Calls a streaming method and yields each response as it arrives; the stream ends
  /// after the final one, or throws ``WeftError``.
  public func stream(
    _ service: String, _ method: String, body: [Data] = [], options: CallOptions = CallOptions()
  ) -> AsyncThrowingStream<Response, any Error> {
    let id = nextRequestID.add(1, ordering: .relaxed).oldValue
    return AsyncThrowingStream { continuation in
      let frames: [[UInt8]]
      do {
        frames = try encode(id: id, service: service, method: method, body: body, options: options)
      } catch {
        continuation.finish(throwing: error)
        return
      }
      let io = self.io
      continuation.onTermination = { termination in
        if case .cancelled = termination { io.cancel(id: id) }
      }
      io.submit(id: id, frames: frames, timeout: options.timeout, idempotent: options.idempotent) { result in
        switch result {
        case .success(let response):
          if let error = WeftError(header: response.header) {
            continuation.finish(throwing: error)
            return true
          }
          continuation.yield(response)
          if response.isFinal { continuation.finish() }
          return response.isFinal
        case .failure(let error):
          continuation.finish(throwing: error)
          return true
        }
      }
    }
  }

  /// Asks the gateway for its services, versions and workers.
  public func meshStatus(timeout: Duration = .seconds(5)) async throws -> MeshStatus {
    try await call(WeftMeshService.status, Google_Protobuf_Empty(), options: CallOptions(timeout: timeout))
  }

  private func encode(id: UInt64, service: String, method: String, body: [Data], options: CallOptions) throws -> [[UInt8]] {
    [Signature.client, try Self.encodeHeader(id: id, service: service, method: method, options: options)]
      + body.map { [UInt8]($0) }
  }

  /// The request header frame. Metadata is encoded sorted by key, as the C and Python
  /// clients do, so the three produce the same bytes for the same call.
  static func encodeHeader(id: UInt64, service: String, method: String, options: CallOptions) throws -> [UInt8] {
    var header = RequestHeader()
    header.requestID = id
    header.service = service
    header.method = method
    header.timeoutMs = UInt32(clamping: max(1, options.timeout.components.seconds * 1_000 + options.timeout.components.attoseconds / 1_000_000_000_000_000))
    header.idempotent = options.idempotent
    header.personalize = options.personalize
    header.version = options.version
    header.userID = options.userID
    header.metadata = options.metadata
    header.priority = UInt32(options.priority)
    return try header.serializedBytes(options: Self.sortedMaps)
  }

  private static let sortedMaps: BinaryEncodingOptions = {
    var options = BinaryEncodingOptions()
    options.useDeterministicOrdering = true
    return options
  }()
}
