/// The first frame of every Weft message: says which side speaks and which protocol version.
///
/// `WFC` + version for client messages, `WFW` + version for worker messages. A peer that
/// sends another version gets an error naming the versions this side speaks.
public enum Signature {
  /// The protocol version this build speaks.
  public static let version: UInt8 = 1
  /// Client side, version 1: `"WFC\u{01}"`.
  public static let client: [UInt8] = [0x57, 0x46, 0x43, version]
  /// Worker side, version 1: `"WFW\u{01}"`.
  public static let worker: [UInt8] = [0x57, 0x46, 0x57, version]

  /// How a signature frame compares with what this side expects.
  public enum Check: Equatable, Sendable {
    case valid
    /// The right side, another version.
    case unsupportedVersion(UInt8)
    /// Not a signature of this side at all.
    case invalid
  }

  /// Checks `frame` against `expected` (``client`` or ``worker``).
  public static func check(_ frame: UnsafeRawBufferPointer, expected: [UInt8]) -> Check {
    guard frame.count == 4 else { return .invalid }
    guard frame[0] == expected[0], frame[1] == expected[1], frame[2] == expected[2] else {
      return .invalid
    }
    return frame[3] == version ? .valid : .unsupportedVersion(frame[3])
  }
}

/// The command byte of a worker-side message (second frame).
public enum WorkerCommand: UInt8, Sendable, CaseIterable {
  /// Worker → gateway: registration, body is ``WorkerReady``.
  case ready = 1
  /// Gateway → worker: a request to run.
  case request = 2
  /// Worker → gateway: one response of a streaming method; more follow.
  case partial = 3
  /// Worker → gateway: the last response of a request.
  case final = 4
  /// Both ways: I am alive. Any traffic counts as one.
  case heartbeat = 5
  /// Gateway → worker: the client no longer waits for this request.
  case cancel = 6
  /// Worker → gateway: draining, send no more; gateway → worker: unknown worker, or drain acknowledged.
  case disconnect = 7

  /// The command as a one-byte frame.
  public var frame: [UInt8] { [rawValue] }

  /// The command in a one-byte frame, or nil.
  public init?(frame: UnsafeRawBufferPointer) {
    guard frame.count == 1 else { return nil }
    self.init(rawValue: frame[0])
  }
}

/// Identifies a request between the gateway and a worker: the gateway's dispatch id
/// and how many milliseconds of the client's deadline remain. 12 bytes, little-endian.
public struct DispatchFrame: Equatable, Sendable {
  /// Encoded size in bytes.
  public static let size = 12
  /// The gateway's id for this attempt of a request.
  public var dispatchID: UInt64
  /// Milliseconds left before the client's deadline when the gateway sent the request.
  public var remainingMilliseconds: UInt32

  /// Creates a dispatch frame.
  public init(dispatchID: UInt64, remainingMilliseconds: UInt32) {
    self.dispatchID = dispatchID
    self.remainingMilliseconds = remainingMilliseconds
  }

  /// Decodes a frame; nil unless it is exactly 12 bytes.
  public init?(_ frame: UnsafeRawBufferPointer) {
    guard frame.count == Self.size else { return nil }
    dispatchID = UInt64(littleEndian: frame.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
    remainingMilliseconds = UInt32(littleEndian: frame.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
  }

  /// Calls `body` with the 12 encoded bytes, without allocating.
  public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
    let encoded = (dispatchID.littleEndian, remainingMilliseconds.littleEndian)
    return try Swift.withUnsafeBytes(of: encoded) { try body(UnsafeRawBufferPointer(rebasing: $0.prefix(Self.size))) }
  }

  /// The 12 encoded bytes.
  public var bytes: [UInt8] {
    var out = [UInt8](repeating: 0, count: Self.size)
    out.withUnsafeMutableBytes { buffer in
      buffer.storeBytes(of: dispatchID.littleEndian, toByteOffset: 0, as: UInt64.self)
      buffer.storeBytes(of: remainingMilliseconds.littleEndian, toByteOffset: 8, as: UInt32.self)
    }
    return out
  }
}
