import SwiftProtobuf

extension SwiftProtobuf.Message {
  /// Decodes a message straight from a borrowed buffer (e.g. a received ZeroMQ frame),
  /// without copying the bytes into an array first.
  public init(borrowing bytes: UnsafeRawBufferPointer) throws {
    try self.init(serializedBytes: bytes.bytes)
  }
}

/// Reads single fields out of encoded protobuf without decoding the message.
public enum ProtobufScan {
  /// The value of varint field `number` in `bytes`, the last occurrence winning as in a
  /// full decode; nil if absent or if the bytes are not well-formed.
  public static func varintField(_ number: UInt64, in bytes: UnsafeRawBufferPointer) -> UInt64? {
    var found: UInt64?
    guard walkVarints(bytes, { field, value in if field == number { found = value } }) else { return nil }
    return found
  }

  /// The values of four varint fields in one pass, 0 for an absent one (proto3's
  /// default); nil if the bytes are not well-formed.
  public static func varintFields(
    _ first: UInt64, _ second: UInt64, _ third: UInt64, _ fourth: UInt64, in bytes: UnsafeRawBufferPointer
  ) -> (UInt64, UInt64, UInt64, UInt64)? {
    var values: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    let wellFormed = walkVarints(bytes) { field, value in
      switch field {
      case first: values.0 = value
      case second: values.1 = value
      case third: values.2 = value
      case fourth: values.3 = value
      default: break
      }
    }
    return wellFormed ? values : nil
  }

  /// The bytes of length-delimited field `number` (a string, bytes or a message), the
  /// last occurrence winning; nil if absent or if the bytes are not well-formed.
  public static func bytesField(_ number: UInt64, in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
    var found: UnsafeRawBufferPointer?
    guard walk(bytes, varint: { _, _ in }, lengthDelimited: { field, value in if field == number { found = value } }) else { return nil }
    return found
  }

  /// The text of metadata entry `key` in an encoded header whose `map<string,
  /// MetadataValue>` is field `mapField` (a map entry is {1: key, 2: {1: text}}); nil if
  /// absent, binary, or not well-formed.
  public static func metadataText(_ key: String, mapField: UInt64, in bytes: UnsafeRawBufferPointer) -> String? {
    var found: String?
    let wanted = Array(key.utf8)
    let wellFormed = walk(bytes, varint: { _, _ in }) { field, entry in
      guard field == mapField, let name = bytesField(1, in: entry), name.elementsEqual(wanted),
        let value = bytesField(2, in: entry), let text = bytesField(1, in: value)
      else { return }
      found = String(decoding: text, as: UTF8.self)
    }
    return wellFormed ? found : nil
  }

  /// Calls `visit` with each varint field's number and value; false if malformed.
  private static func walkVarints(_ bytes: UnsafeRawBufferPointer, _ visit: (UInt64, UInt64) -> Void) -> Bool {
    walk(bytes, varint: visit, lengthDelimited: { _, _ in })
  }

  /// Calls `varint` with each varint field and `lengthDelimited` with each
  /// length-delimited one (its bytes); false if malformed.
  private static func walk(
    _ bytes: UnsafeRawBufferPointer, varint: (UInt64, UInt64) -> Void,
    lengthDelimited: (UInt64, UnsafeRawBufferPointer) -> Void
  ) -> Bool {
    var reader = ProtobufFieldReader(bytes)
    while let (number, value) = reader.next() {
      switch value {
      case .varint(let value): varint(number, value)
      case .bytes(let value): lengthDelimited(number, value)
      case .fixed32, .fixed64: break
      }
    }
    return !reader.isMalformed
  }
}

/// The fields of an encoded protobuf message, one at a time, read in place: for decoders
/// of hot messages that skip building message objects.
public struct ProtobufFieldReader {
  /// A field's value by wire type.
  public enum Value {
    case varint(UInt64)
    case fixed64(UInt64)
    /// A string, bytes, a message or a packed repeated field: its bytes, in place.
    case bytes(UnsafeRawBufferPointer)
    case fixed32(UInt32)
  }

  @usableFromInline let bytes: UnsafeRawBufferPointer
  @usableFromInline var offset = 0
  /// Set when reading stopped at bytes that are not a well-formed message.
  public internal(set) var isMalformed = false

  /// Reads `bytes`, which must outlive the reader and the values it returns.
  @inlinable public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

  /// The next field's number and value; nil at the end, or at malformed bytes (then
  /// ``isMalformed`` is set).
  @inlinable public mutating func next() -> (number: UInt64, value: Value)? {
    guard offset < bytes.count else { return nil }
    guard let key = ProtobufWire.readVarint(bytes, &offset), key >> 3 > 0 else { return malformed() }
    switch key & 7 {
    case 0:
      guard let value = ProtobufWire.readVarint(bytes, &offset) else { return malformed() }
      return (key >> 3, .varint(value))
    case 1:
      guard bytes.count - offset >= 8 else { return malformed() }
      defer { offset += 8 }
      return (key >> 3, .fixed64(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))))
    case 2:
      guard let length = ProtobufWire.readVarint(bytes, &offset), length <= UInt64(bytes.count - offset) else { return malformed() }
      defer { offset += Int(length) }
      return (key >> 3, .bytes(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + Int(length)])))
    case 5:
      guard bytes.count - offset >= 4 else { return malformed() }
      defer { offset += 4 }
      return (key >> 3, .fixed32(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))))
    default: return malformed()
    }
  }

  /// The values of a packed repeated varint field (`bytes`: the field's payload).
  public static func packedVarints(_ bytes: UnsafeRawBufferPointer) -> PackedVarints { PackedVarints(bytes: bytes) }

  /// The values of a packed repeated varint field, one at a time.
  public struct PackedVarints {
    let bytes: UnsafeRawBufferPointer
    var offset = 0
    /// Set when a value was cut short.
    public private(set) var isMalformed = false

    /// The next value; nil at the end or at a truncated one (then ``isMalformed``).
    public mutating func next() -> UInt64? {
      guard offset < bytes.count else { return nil }
      guard let value = ProtobufWire.readVarint(bytes, &offset) else {
        isMalformed = true
        offset = bytes.count
        return nil
      }
      return value
    }
  }

  @usableFromInline mutating func malformed() -> (number: UInt64, value: Value)? {
    isMalformed = true
    offset = bytes.count
    return nil
  }
}

/// Protobuf wire-format primitives shared by the readers that skip a full decode.
@usableFromInline enum ProtobufWire {
  /// Reads a varint at `offset` and moves past it; nil if truncated or longer than 10 bytes.
  @inlinable static func readVarint(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) -> UInt64? {
    var value: UInt64 = 0
    var shift: UInt64 = 0
    while offset < bytes.count && shift < 64 {
      let byte = bytes[offset]
      offset += 1
      value |= UInt64(byte & 0x7f) << shift
      if byte < 0x80 { return value }
      shift += 7
    }
    return nil
  }
}
