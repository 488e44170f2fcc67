/// Why a request ended. Numbered as in gRPC, so the C and Python clients agree.
///
/// A struct rather than an enum, so codes can be added without breaking a `switch`.
public struct StatusCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  /// The gRPC number, 0 to 16.
  public let rawValue: UInt8

  /// A code from its gRPC number; nil past 16.
  public init?(rawValue: UInt8) {
    guard rawValue <= 16 else { return nil }
    self.rawValue = rawValue
  }

  private init(_ value: UInt8) { rawValue = value }

  public static let ok = StatusCode(0)
  public static let cancelled = StatusCode(1)
  public static let unknown = StatusCode(2)
  public static let invalidArgument = StatusCode(3)
  public static let deadlineExceeded = StatusCode(4)
  public static let notFound = StatusCode(5)
  public static let alreadyExists = StatusCode(6)
  public static let permissionDenied = StatusCode(7)
  public static let resourceExhausted = StatusCode(8)
  public static let failedPrecondition = StatusCode(9)
  public static let aborted = StatusCode(10)
  public static let outOfRange = StatusCode(11)
  public static let unimplemented = StatusCode(12)
  public static let `internal` = StatusCode(13)
  public static let unavailable = StatusCode(14)
  public static let dataLoss = StatusCode(15)
  public static let unauthenticated = StatusCode(16)

  /// Every code, in numeric order.
  public static let allCodes: [StatusCode] = (0...16).map { StatusCode(UInt8($0)) }

  private static let names = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED",
  ]

  /// The gRPC name, e.g. `DEADLINE_EXCEEDED`.
  public var name: String { Self.names[Int(rawValue)] }

  public var description: String { name }

  /// The code as carried in a ``ResponseHeader``.
  public var wireValue: Weft_V1_StatusCode { Weft_V1_StatusCode(rawValue: Int(rawValue)) ?? .unknown }

  /// The code of a ``ResponseHeader``; a number this version does not know reads as `unknown`.
  public init(wireValue: Weft_V1_StatusCode) {
    self = StatusCode(rawValue: UInt8(clamping: wireValue.rawValue)) ?? .unknown
  }
}
