#if canImport(Glibc)
import Glibc
#endif

/// The request header fields the gateway routes on, read straight from the encoded
/// ``RequestHeader`` without building the message (no metadata map, no allocation for
/// names of 15 bytes or less).
///
/// The whole encoding is walked, so malformed wire format is rejected exactly where a
/// full decode would reject it; fields the gateway does not use (user id, metadata) are
/// checked for structure only and left for the worker to decode.
public struct RoutingFields: Sendable, Equatable {
  // No default values here: ``init(parsing:names:)`` initialises `self` once, from the
  // fields it read, instead of building a default value and then destroying it.
  public var requestID: UInt64
  public var service: String
  public var method: String
  public var timeoutMilliseconds: UInt32
  public var idempotent: Bool
  public var personalize: Bool
  public var version: String
  public var userID: String
  /// Higher goes first within the client's share of a queue; capped at 255.
  public var priority: UInt8
  /// The message cancels the client's earlier request with this request id.
  public var cancel: Bool
  /// What the message is on a call that stays open (``CallFrame``'s wire value; 0: OPEN).
  public var callFrame: Int
  /// Responses the client grants (on OPEN and CREDIT).
  public var credit: UInt32

  /// Why a header could not be read.
  public struct Malformed: Error, CustomStringConvertible, Sendable {
    public let description: String
  }

  /// An empty set of fields.
  public init() {
    (requestID, service, method, timeoutMilliseconds, idempotent, personalize) = (0, "", "", 0, false, false)
    (version, userID, priority, cancel, callFrame, credit) = ("", "", 0, false, 0, 0)
  }

  /// Reads the fields from an encoded ``RequestHeader``; names already in `names` are
  /// reused rather than built again.
  public init(parsing bytes: UnsafeRawBufferPointer, names: NameTable? = nil) throws(Malformed) {
    // Read into a local, then moved into `self` whole: assigned field by field, this
    // throwing initialiser copied and destroyed the whole value on the way out (20
    // reference-count calls a header, counted with uprobes).
    var fields = RoutingFields()
    try fields.read(bytes, names: names)
    self = fields
  }

  private mutating func read(_ bytes: UnsafeRawBufferPointer, names: NameTable?) throws(Malformed) {
    var offset = 0
    while offset < bytes.count {
      let key = try Self.varint(bytes, &offset)
      let field = key >> 3
      switch (field, key & 7) {
      case (1, 0): requestID = try Self.varint(bytes, &offset)
      case (4, 0): timeoutMilliseconds = UInt32(truncatingIfNeeded: try Self.varint(bytes, &offset))
      case (5, 0): idempotent = try Self.varint(bytes, &offset) != 0
      case (6, 0): personalize = try Self.varint(bytes, &offset) != 0
      case (2, 2): service = try Self.string(bytes, &offset, "service", names)
      case (3, 2): method = try Self.string(bytes, &offset, "method", names)
      case (7, 2): version = try Self.string(bytes, &offset, "version", names)
      case (8, 2): userID = try Self.string(bytes, &offset, "user_id")
      case (10, 0): priority = UInt8(clamping: try Self.varint(bytes, &offset))
      case (11, 0): cancel = try Self.varint(bytes, &offset) != 0
      case (12, 0): callFrame = Int(truncatingIfNeeded: try Self.varint(bytes, &offset))
      case (13, 0): credit = UInt32(truncatingIfNeeded: try Self.varint(bytes, &offset))
      case (0, _): throw Malformed(description: "field number 0 at byte \(offset)")
      case (_, 0): _ = try Self.varint(bytes, &offset)
      case (_, 1): try Self.skip(8, bytes, &offset)
      case (_, 2): try Self.skip(Int(try Self.length(bytes, &offset)), bytes, &offset)
      case (_, 5): try Self.skip(4, bytes, &offset)
      default: throw Malformed(description: "unsupported wire type \(key & 7) at byte \(offset)")
      }
    }
  }

  private static func varint(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) throws(Malformed) -> UInt64 {
    guard let value = ProtobufWire.readVarint(bytes, &offset) else {
      throw Malformed(description: "truncated or overlong varint at byte \(offset)")
    }
    return value
  }

  private static func length(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) throws(Malformed) -> UInt64 {
    let length = try varint(bytes, &offset)
    guard length <= UInt64(bytes.count - offset) else {
      throw Malformed(description: "length \(length) runs past the end at byte \(offset)")
    }
    return length
  }

  private static func skip(_ count: Int, _ bytes: UnsafeRawBufferPointer, _ offset: inout Int) throws(Malformed) {
    guard count <= bytes.count - offset else { throw Malformed(description: "truncated field at byte \(offset)") }
    offset += count
  }

  private static func string(
    _ bytes: UnsafeRawBufferPointer, _ offset: inout Int, _ name: String, _ names: NameTable? = nil
  ) throws(Malformed) -> String {
    let count = Int(try length(bytes, &offset))
    let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    offset += count
    if let known = names?.lookup(slice) { return known }
    // ASCII is valid UTF-8 and is built without the generic validator, which took
    // several times longer than the rest of a header (its metadata looked up per call).
    let text = Self.isASCII(slice)
      ? String(decoding: slice, as: UTF8.self) : String(validating: slice.bindMemory(to: UInt8.self), as: UTF8.self)
    guard let text else { throw Malformed(description: "\(name) is not valid UTF-8") }
    names?.remember(text)
    return text
  }

  private static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
    var highBits: UInt64 = 0
    var index = 0
    while index + 8 <= bytes.count {
      highBits |= bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
      index += 8
    }
    while index < bytes.count {
      highBits |= UInt64(bytes[index])
      index += 1
    }
    return highBits & 0x8080_8080_8080_8080 == 0
  }
}

/// Names seen before (services, methods, versions), so reading a header reuses their
/// `String`s instead of validating and building new ones. Bounded; not thread-safe:
/// one per gateway loop.
public final class NameTable {
  /// Each name with its UTF-8 bytes, compared without touching the `String`.
  @exclusivity(unchecked) private var entries: [(bytes: [UInt8], name: String)] = []
  private let limit: Int

  /// A table keeping at most `limit` names.
  public init(limit: Int = 256) { self.limit = limit }

  /// The stored name with exactly these UTF-8 bytes, if any.
  public func lookup(_ bytes: UnsafeRawBufferPointer) -> String? {
    for index in entries.indices where entries[index].bytes.count == bytes.count {
      let equal = entries[index].bytes.withUnsafeBytes { stored in
        bytes.count == 0 || memcmp(stored.baseAddress!, bytes.baseAddress!, bytes.count) == 0
      }
      if equal { return entries[index].name }
    }
    return nil
  }

  /// Keeps `name` for later lookups while there is room.
  public func remember(_ name: String) {
    if entries.count < limit { entries.append((Array(name.utf8), name)) }
  }
}
