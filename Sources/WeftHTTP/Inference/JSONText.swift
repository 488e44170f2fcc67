/// JSON written straight into bytes: what an inference response needs (objects, arrays,
/// strings, numbers), without `JSONSerialization`'s boxing of every element, which cost
/// three quarters of the gateway's CPU for a 384-float embedding.
struct JSONText {
  private(set) var bytes: [UInt8] = []

  init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

  mutating func raw(_ text: StaticString) {
    text.withUTF8Buffer { bytes.append(contentsOf: $0) }
  }

  /// A JSON string, escaped as RFC 8259 requires.
  mutating func string(_ text: String) {
    bytes.append(UInt8(ascii: "\""))
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "\""): raw("\\\"")
      case UInt8(ascii: "\\"): raw("\\\\")
      case 0x0A: raw("\\n")
      case 0x0D: raw("\\r")
      case 0x09: raw("\\t")
      case 0..<0x20:
        raw("\\u00")
        bytes.append(Self.hex[Int(byte >> 4)])
        bytes.append(Self.hex[Int(byte & 0xF)])
      default: bytes.append(byte)
      }
    }
    bytes.append(UInt8(ascii: "\""))
  }

  /// An integer.
  mutating func integer<T: BinaryInteger>(_ value: T) { bytes.append(contentsOf: String(value).utf8) }

  /// A number in its shortest form that reads back as the same `Float`/`Double`; JSON
  /// has no NaN or infinity, so those are written as null.
  mutating func number<T: BinaryFloatingPoint & LosslessStringConvertible>(_ value: T) {
    guard value.isFinite else { return raw("null") }
    bytes.append(contentsOf: value.description.utf8)
  }

  mutating func bool(_ value: Bool) { value ? raw("true") : raw("false") }

  /// `[e0,e1,…]`, each element written by `element`.
  mutating func array<S: Sequence>(_ elements: S, _ element: (inout JSONText, S.Element) throws -> Void) rethrows {
    bytes.append(UInt8(ascii: "["))
    var first = true
    for value in elements {
      if !first { bytes.append(UInt8(ascii: ",")) }
      first = false
      try element(&self, value)
    }
    bytes.append(UInt8(ascii: "]"))
  }

  /// `"key":` (the caller writes the comma before all but an object's first key).
  mutating func key(_ name: StaticString) {
    bytes.append(UInt8(ascii: "\""))
    raw(name)
    raw("\":")
  }

  private static let hex = Array("0123456789abcdef".utf8)
}
