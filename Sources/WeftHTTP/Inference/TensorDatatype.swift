import Foundation
import HTTPTypes

/// A tensor element type as the Open Inference Protocol names it.
///
/// Fixed-size types travel as little-endian bytes in the binary extension and as numbers
/// (or `true`/`false`) in JSON; `BYTES` elements are byte strings, each prefixed with its
/// length (4 bytes, little-endian) in binary and written as strings in JSON.
enum TensorDatatype: String, CaseIterable, Sendable {
  case bool = "BOOL"
  case uint8 = "UINT8", uint16 = "UINT16", uint32 = "UINT32", uint64 = "UINT64"
  case int8 = "INT8", int16 = "INT16", int32 = "INT32", int64 = "INT64"
  case fp16 = "FP16", fp32 = "FP32", fp64 = "FP64"
  case bytes = "BYTES"

  /// Bytes per element; nil for `BYTES`, whose elements each have their own length.
  var elementSize: Int? {
    switch self {
    case .bool, .uint8, .int8: 1
    case .uint16, .int16, .fp16: 2
    case .uint32, .int32, .fp32: 4
    case .uint64, .int64, .fp64: 8
    case .bytes: nil
    }
  }

  /// Appends one JSON element to `bytes` in this type's little-endian layout.
  ///
  /// - Throws: ``InferenceError`` (400) when the element is not a value of this type.
  func appendElement(_ element: JSONValue, to bytes: inout Data, tensor: String) throws {
    let fail = InferenceError(.badRequest, "input '\(tensor)': \(element.summary) is not a \(rawValue) value")
    func integer<T: FixedWidthInteger>(_: T.Type) throws {
      guard case .integer(let value) = element, let exact = T(exactly: value) else { throw fail }
      withUnsafeBytes(of: exact.littleEndian) { bytes.append(contentsOf: $0) }
    }
    switch self {
    case .bool:
      guard case .bool(let flag) = element else { throw fail }
      bytes.append(flag ? 1 : 0)
    case .uint8: try integer(UInt8.self)
    case .uint16: try integer(UInt16.self)
    case .uint32: try integer(UInt32.self)
    case .uint64: try integer(UInt64.self)
    case .int8: try integer(Int8.self)
    case .int16: try integer(Int16.self)
    case .int32: try integer(Int32.self)
    case .int64: try integer(Int64.self)
    case .fp16: throw InferenceError(.badRequest, "input '\(tensor)': FP16 data must be sent in binary")
    case .fp32:
      guard let value = element.number else { throw fail }
      withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    case .fp64:
      guard let value = element.number else { throw fail }
      withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    case .bytes: throw fail
    }
  }
}
