import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// How a worker connects, heartbeats and drains. Every field has a default.
public struct WorkerConfiguration: Sendable, Equatable {
  /// Backend endpoints of the gateways to serve (one DEALER each).
  public var gateways: [String]
  /// A name for this worker in replies, logs and `weft status`; default host:pid.
  public var name: String
  /// Most requests each gateway may have in flight here; default twice the model's batch size.
  public var capacity: Int?
  /// How often the worker heartbeats; a gateway silent for `liveness` intervals is reconnected.
  public var heartbeatInterval: Duration
  /// Silent intervals before the link to a gateway is considered dead.
  public var liveness: Int
  /// After SIGTERM, longest time to finish in-flight work before exiting anyway.
  public var drainTimeout: Duration
  /// Longest wait between reconnect attempts (the wait doubles from 250 ms up to this).
  public var maxReconnectBackoff: Duration
  /// CURVE credentials for gateways that require them; nil: plaintext.
  public var curve: CurveClientCredentials?
  /// An open call whose client has had no room for its responses this long is ended
  /// with RESOURCE_EXHAUSTED (a reader that stopped reading).
  public var streamStallTimeout: Duration

  /// Creates a configuration.
  public init(
    gateways: [String] = ["tcp://127.0.0.1:5556"], name: String? = nil, capacity: Int? = nil,
    heartbeatInterval: Duration = .milliseconds(1_000), liveness: Int = 3,
    drainTimeout: Duration = .seconds(30), maxReconnectBackoff: Duration = .seconds(8),
    streamStallTimeout: Duration = .seconds(10)
  ) {
    self.streamStallTimeout = streamStallTimeout
    self.gateways = gateways
    self.name = name ?? WorkerConfiguration.defaultName()
    self.capacity = capacity
    self.heartbeatInterval = heartbeatInterval
    self.liveness = liveness
    self.drainTimeout = drainTimeout
    self.maxReconnectBackoff = maxReconnectBackoff
  }

  static func defaultName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    gethostname(&buffer, buffer.count)
    let host = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return "\(host):\(getpid())"
  }
}
