/// Malformed messages counted by kind, each kind logged at most once a second with how
/// many came since its last line: a peer sending garbage as fast as it can costs the
/// gateway a counter bump per message, not a log line. A plain value fed `now`.
struct MalformedInputLog {
  /// What was wrong, by side.
  enum Kind: Int, CaseIterable {
    case workerIdentity, workerEnvelope, workerReply, workerCommand, workerRegistration, workerUnknown, workerKeyRevoked, workerPacked
    case clientFrames, clientSignature, clientVersion, clientHeader, clientPacked

    /// The name in logs and `weft status`.
    var name: String {
      switch self {
      case .workerIdentity: "worker: identity over 16 bytes"
      case .workerEnvelope: "worker: not a worker envelope"
      case .workerReply: "worker: reply without a ResponseHeader"
      case .workerCommand: "worker: gateway-only command"
      case .workerRegistration: "worker: registration refused"
      case .workerUnknown: "worker: not registered (told to register again)"
      case .workerKeyRevoked: "worker: key no longer allowed"
      case .workerPacked: "worker: malformed PACKED"
      case .clientFrames: "client: wrong number of frames"
      case .clientSignature: "client: not a client signature"
      case .clientVersion: "client: unsupported protocol version"
      case .clientHeader: "client: not a RequestHeader"
      case .clientPacked: "client: malformed pack"
      }
    }
  }

  /// Microseconds between two lines of one kind.
  static let interval: UInt64 = 1_000_000

  /// Every kind's count since start.
  private(set) var totals = [UInt64](repeating: 0, count: Kind.allCases.count)
  private var unlogged = [UInt64](repeating: 0, count: Kind.allCases.count)
  private var loggedAt = [UInt64?](repeating: nil, count: Kind.allCases.count)

  /// Counts one message of `kind` at `now`; returns how many to report when a line is
  /// due (this one and those not logged since the last line), nil otherwise.
  mutating func count(_ kind: Kind, at now: UInt64) -> UInt64? {
    let index = kind.rawValue
    totals[index] += 1
    unlogged[index] += 1
    if let last = loggedAt[index], now &- last < Self.interval { return nil }
    loggedAt[index] = now
    defer { unlogged[index] = 0 }
    return unlogged[index]
  }
}
