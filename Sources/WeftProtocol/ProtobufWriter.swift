/// Writes protobuf fields straight into bytes, for the few hot replies that skip building
/// message objects. Zero values are left out, as proto3 encodes them. A nested message's
/// length is added up first with the `size` functions, so nothing is written twice.
public struct ProtobufWriter {
  /// What has been written.
  public var bytes: [UInt8] = []

  /// An empty writer with room for `capacity` bytes.
  @inlinable public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

  /// A varint field (`uint32`, `uint64`, `bool`, an enum), left out when zero.
  @inlinable public mutating func varint(_ field: UInt64, _ value: UInt64) {
    guard value != 0 else { return }
    Self.appendVarint(field << 3, to: &bytes)  // wire type 0: varint
    Self.appendVarint(value, to: &bytes)
  }

  /// A `float` field, left out when zero (−0 too, as SwiftProtobuf does).
  @inlinable public mutating func float(_ field: UInt64, _ value: Float) {
    guard value != 0 else { return }
    Self.appendVarint(field << 3 | 5, to: &bytes)  // wire type 5: 32-bit
    withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
  }

  /// A `string` field, left out when empty.
  @inlinable public mutating func string(_ field: UInt64, _ value: String) {
    guard !value.isEmpty else { return }
    var value = value
    value.withUTF8 { lengthDelimited(field, UnsafeRawBufferPointer($0)) }
  }

  /// A `bytes` or message field with the given payload, written even when empty.
  @inlinable public mutating func lengthDelimited(_ field: UInt64, _ payload: some Collection<UInt8>) {
    Self.appendVarint(field << 3 | 2, to: &bytes)  // wire type 2: length-delimited
    Self.appendVarint(UInt64(payload.count), to: &bytes)
    bytes.append(contentsOf: payload)
  }

  /// A message field of `length` bytes that `write` writes in place (the sizes below add
  /// up a length without writing twice).
  @inlinable public mutating func message(_ field: UInt64, length: Int, _ write: (inout ProtobufWriter) -> Void) {
    Self.appendVarint(field << 3 | 2, to: &bytes)
    Self.appendVarint(UInt64(length), to: &bytes)
    let start = bytes.count
    write(&self)
    assert(bytes.count - start == length, "message field \(field): wrote \(bytes.count - start) bytes, said \(length)")
  }

  /// The bytes `varint(field, value)` writes.
  @inlinable public static func size(varint field: UInt64, _ value: UInt64) -> Int {
    value == 0 ? 0 : varintSize(field << 3) + varintSize(value)
  }

  /// The bytes `float(field, value)` writes.
  @inlinable public static func size(float field: UInt64, _ value: Float) -> Int { value == 0 ? 0 : varintSize(field << 3) + 4 }

  /// The bytes `message(field, length: length, …)` or a `lengthDelimited` field of
  /// `length` bytes writes.
  @inlinable public static func size(message field: UInt64, length: Int) -> Int {
    varintSize(field << 3 | 2) + varintSize(UInt64(length)) + length
  }

  /// The bytes `string(field, value)` writes.
  @inlinable public static func size(string field: UInt64, _ value: String) -> Int {
    let count = value.utf8.count
    return count == 0 ? 0 : varintSize(field << 3) + varintSize(UInt64(count)) + count
  }

  @usableFromInline static func varintSize(_ value: UInt64) -> Int { value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7 }

  @inlinable static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
    var value = value
    while value >= 0x80 {
      out.append(UInt8(truncatingIfNeeded: value) | 0x80)
      value >>= 7
    }
    out.append(UInt8(value))
  }
}
