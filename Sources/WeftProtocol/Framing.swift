/// The first frame of every client message: `WFC` + protocol version. (Worker-side
/// messages start with a ``WorkerEnvelope``, which begins `WFW` + version.) A peer that
/// sends another version gets an error naming the version this side speaks.
public enum Signature {
  /// The protocol version this build speaks.
  public static let version: UInt8 = 1
  /// Client side, version 1: `"WFC\u{01}"`.
  public static let client: [UInt8] = [0x57, 0x46, 0x43, version]
  /// A client's packed message, version 1: `"WFP\u{01}"`, then one frame holding several
  /// whole messages (a `FramePack`), each [header, body…] without a signature.
  public static let clientPacked: [UInt8] = [0x57, 0x46, 0x50, version]

  /// How a signature frame compares with what this side expects.
  public enum Check: Equatable, Sendable {
    case valid
    /// The right side, another version.
    case unsupportedVersion(UInt8)
    /// Not a signature of this side at all.
    case invalid
  }

  /// Checks `frame` against `expected` (``client`` or ``clientPacked``).
  public static func check(_ frame: UnsafeRawBufferPointer, expected: [UInt8]) -> Check {
    guard frame.count == 4 else { return .invalid }
    guard frame[0] == expected[0], frame[1] == expected[1], frame[2] == expected[2] else {
      return .invalid
    }
    return frame[3] == version ? .valid : .unsupportedVersion(frame[3])
  }
}

/// The command of a worker-side message, carried in its envelope frame.
public enum WorkerCommand: UInt8, Sendable, CaseIterable {
  /// Worker → gateway: registration, next frame is ``WorkerReady``.
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
  /// Worker → gateway: from now, have at most this many of my requests in flight (a
  /// worker serving several gateways splits its capacity among them); gateway → worker:
  /// that limit is applied (also sent once after READY). Next frame: ``CreditLimit``.
  case credit = 8
  /// Gateway → worker: the client's next message on an open call (body frames follow).
  case message = 9
  /// Gateway → worker: the client sends no more messages on the call.
  case halfClose = 10
  /// Both ways, on an open call: worker → gateway, the client may send this many more
  /// messages; gateway → worker, the client takes this many more responses. Next frame:
  /// the count as a ``CreditLimit``.
  case callCredit = 11
  /// Both ways: several whole messages (each starting with its own envelope) in the next
  /// frame, handled one by one as if each came alone (the ZeroMQ module's `FramePack`
  /// layout). Gateway → worker only when the worker's READY says `reads_packed`; worker →
  /// gateway only once that gateway has sent it a PACKED. Never nested.
  case packed = 12

  /// Whether a message of this command has a header (REQUEST: the client's
  /// `RequestHeader`; PARTIAL, FINAL: a `ResponseHeader`).
  public var hasHeader: Bool {
    switch self {
    case .request, .partial, .final: true
    default: false
    }
  }

  /// Whether the envelope of this command names a request (dispatch id and budget).
  public var carriesDispatch: Bool {
    switch self {
    case .request, .partial, .final, .cancel, .message, .halfClose, .callCredit: true
    case .ready, .heartbeat, .disconnect, .credit, .packed: false
    }
  }
}

/// The first frame of every worker-side message: signature, version, command and, for
/// commands about one request, the gateway's dispatch id and the milliseconds left
/// before the client's deadline. One frame instead of three keeps libzmq's per-frame
/// work off the hot path.
///
/// Layout (little-endian): `"WFW"` `version` `command` [`u64 dispatch id` `u32 remaining ms`];
/// 5 bytes, or 17 when ``WorkerCommand/carriesDispatch``. The version byte says where a
/// message's header is: version 1, in the next frame; version 2 (REQUEST, PARTIAL and
/// FINAL only), in this frame after the 17 bytes, which saves a frame each way on every
/// request. Messages without a header are the same in both and are sent as version 1.
public struct WorkerEnvelope: Equatable, Sendable {
  /// Size without and with the dispatch part.
  public static let shortSize = 5
  public static let longSize = 17
  /// The envelope of a message whose header is in its next frame.
  public static let separateHeaderVersion: UInt8 = 1
  /// The envelope of a message whose header follows it in the same frame.
  public static let inlineHeaderVersion: UInt8 = 2

  public var command: WorkerCommand
  /// ``separateHeaderVersion`` or ``inlineHeaderVersion``.
  public var version: UInt8
  /// The gateway's id for this attempt of a request (0 when the command has none).
  public var dispatchID: UInt64
  /// Milliseconds left before the client's deadline when the gateway sent the request.
  public var remainingMilliseconds: UInt32

  /// Creates an envelope; `inlineHeader` (REQUEST, PARTIAL and FINAL only) makes it
  /// version 2, whose frame the header follows.
  public init(_ command: WorkerCommand, dispatchID: UInt64 = 0, remainingMilliseconds: UInt32 = 0, inlineHeader: Bool = false) {
    precondition(!inlineHeader || command.hasHeader, "\(command) has no header")
    self.command = command
    self.version = inlineHeader ? Self.inlineHeaderVersion : Self.separateHeaderVersion
    self.dispatchID = dispatchID
    self.remainingMilliseconds = remainingMilliseconds
  }

  /// Whether the message's header follows the envelope in its frame (else it is the next frame).
  public var hasInlineHeader: Bool { version == Self.inlineHeaderVersion }

  /// Whether `frame`, a valid envelope frame, is of version 2 (its header follows in it),
  /// read without decoding it again.
  public static func hasInlineHeader(_ frame: UnsafeRawBufferPointer) -> Bool { frame[3] == inlineHeaderVersion }

  /// The header that follows a version 2 envelope in `frame` (an envelope frame this
  /// envelope was decoded from).
  public static func inlineHeader(in frame: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: frame[longSize...])
  }

  /// Reads a worker-side message from its frames in place (a pack's): the envelope from
  /// the first frame and, for a command with a header, the header, which follows the
  /// envelope in its frame (version 2) or is the next frame (nil if there is none).
  /// `frames` is left at the first body frame.
  public static func decodeHeaded<Frames: IteratorProtocol>(
    from frames: inout Frames
  ) throws(Malformed) -> (envelope: WorkerEnvelope, header: UnsafeRawBufferPointer?)
  where Frames.Element == UnsafeRawBufferPointer {
    guard let first = frames.next() else { throw .notAWorkerSignature }
    let envelope = try WorkerEnvelope(decoding: first)
    guard envelope.command.hasHeader else { return (envelope, nil) }
    return (envelope, envelope.hasInlineHeader ? inlineHeader(in: first) : frames.next())
  }

  /// Why a frame is not a valid envelope.
  public enum Malformed: Error, Equatable, Sendable {
    case notAWorkerSignature
    case unsupportedVersion(UInt8)
    case unknownCommand(UInt8)
    case wrongSize(command: WorkerCommand, bytes: Int)
    /// Version 2 for a command that has no header.
    case noHeader(WorkerCommand)
  }

  /// Decodes and checks an envelope frame.
  public init(decoding frame: UnsafeRawBufferPointer) throws(Malformed) {
    guard frame.count >= Self.shortSize, frame[0] == 0x57, frame[1] == 0x46, frame[2] == 0x57 else {
      throw .notAWorkerSignature
    }
    let version = frame[3]
    guard version == Self.separateHeaderVersion || version == Self.inlineHeaderVersion else { throw .unsupportedVersion(version) }
    guard let command = WorkerCommand(rawValue: frame[4]) else { throw .unknownCommand(frame[4]) }
    if version == Self.inlineHeaderVersion && !command.hasHeader { throw .noHeader(command) }
    let size = command.carriesDispatch ? Self.longSize : Self.shortSize
    guard version == Self.inlineHeaderVersion ? frame.count >= size : frame.count == size else {
      throw .wrongSize(command: command, bytes: frame.count)
    }
    self.command = command
    self.version = version
    if command.carriesDispatch {
      dispatchID = UInt64(littleEndian: frame.loadUnaligned(fromByteOffset: 5, as: UInt64.self))
      remainingMilliseconds = UInt32(littleEndian: frame.loadUnaligned(fromByteOffset: 13, as: UInt32.self))
    } else {
      dispatchID = 0
      remainingMilliseconds = 0
    }
  }

  /// Calls `body` with the encoded frame, without allocating.
  public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
    var encoded: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch on the stack
    return try Swift.withUnsafeMutableBytes(of: &encoded) { buffer in
      buffer[0] = 0x57
      buffer[1] = 0x46
      buffer[2] = 0x57
      buffer[3] = version
      buffer[4] = command.rawValue
      guard command.carriesDispatch else { return try body(UnsafeRawBufferPointer(rebasing: buffer.prefix(Self.shortSize))) }
      buffer.storeBytes(of: dispatchID.littleEndian, toByteOffset: 5, as: UInt64.self)
      buffer.storeBytes(of: remainingMilliseconds.littleEndian, toByteOffset: 13, as: UInt32.self)
      return try body(UnsafeRawBufferPointer(rebasing: buffer.prefix(Self.longSize)))
    }
  }

  /// The encoded frame.
  public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}

/// The frame after a CREDIT envelope (a limit of requests in flight) or a CALL_CREDIT
/// one (messages granted on a call): u32 little-endian.
public enum CreditLimit {
  /// The encoded frame.
  public static func encode(_ limit: UInt32) -> [UInt8] {
    withUnsafeBytes(of: limit.littleEndian) { Array($0) }
  }

  /// The limit in `frame`, or nil if it is not 4 bytes.
  public static func decode(_ frame: UnsafeRawBufferPointer) -> UInt32? {
    guard frame.count == 4 else { return nil }
    return UInt32(littleEndian: frame.loadUnaligned(as: UInt32.self))
  }
}
