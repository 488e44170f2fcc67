import Foundation
import HTTPTypes

/// One tensor of an inference request or response, its data kept in the binary
/// extension's layout: little-endian elements, or one byte string per `BYTES` element.
struct InferTensor: Sendable {
  var name: String
  var datatype: TensorDatatype
  var shape: [Int]
  var contents: Contents

  enum Contents: Sendable {
    /// Fixed-size elements, little-endian, row-major.
    case fixed(Data)
    /// `BYTES` elements.
    case elements([Data])
  }

  /// The number of elements the shape holds.
  var elementCount: Int { shape.reduce(1, *) }

  /// A fixed-size output from its little-endian bytes.
  ///
  /// - Throws: ``InferenceError`` (500) when the bytes do not fill `shape`: a worker's
  ///   reply that does not hold what its model promised.
  init(_ name: String, _ datatype: TensorDatatype, shape: [Int], data: Data) throws {
    guard shape.allSatisfy({ $0 >= 0 }), datatype.elementSize.map({ $0 * shape.reduce(1, *) }) == data.count else {
      throw InferenceError(.internalServerError, "output '\(name)': the reply's \(data.count) bytes do not fill \(datatype.rawValue) \(shape)")
    }
    self.init(name: name, datatype: datatype, shape: shape, contents: .fixed(data))
  }

  /// A one-dimensional `BYTES` tensor.
  init(_ name: String, elements: [Data]) {
    self.init(name: name, datatype: .bytes, shape: [elements.count], contents: .elements(elements))
  }

  private init(name: String, datatype: TensorDatatype, shape: [Int], contents: Contents) {
    self.name = name
    self.datatype = datatype
    self.shape = shape
    self.contents = contents
  }

  /// A tensor received in the binary extension: `bytes` as the request carried them.
  static func binary(name: String, datatype: TensorDatatype, shape: [Int], bytes: Data) throws -> InferTensor {
    let count = try checkedCount(name, shape)
    guard let size = datatype.elementSize else {
      return InferTensor(name: name, datatype: datatype, shape: shape, contents: .elements(try splitElements(name, bytes, count: count)))
    }
    guard bytes.count == count * size else {
      throw InferenceError(.badRequest, "input '\(name)': \(bytes.count) bytes of binary data, shape \(shape) of \(datatype.rawValue) needs \(count * size)")
    }
    return InferTensor(name: name, datatype: datatype, shape: shape, contents: .fixed(bytes))
  }

  /// A tensor received as JSON `data`, flat or nested.
  static func json(name: String, datatype: TensorDatatype, shape: [Int], data: JSONValue) throws -> InferTensor {
    let count = try checkedCount(name, shape)
    let values = data.flattened()
    guard values.count == count else {
      throw InferenceError(.badRequest, "input '\(name)': \(values.count) elements of data, shape \(shape) holds \(count)")
    }
    guard let size = datatype.elementSize else {
      let elements = try values.map { value -> Data in
        guard case .string(let text) = value else {
          throw InferenceError(.badRequest, "input '\(name)': \(value.summary) is not a BYTES value (a string)")
        }
        return Data(text.utf8)
      }
      return InferTensor(name: name, datatype: datatype, shape: shape, contents: .elements(elements))
    }
    var bytes = Data(capacity: count * size)
    for value in values { try datatype.appendElement(value, to: &bytes, tensor: name) }
    return InferTensor(name: name, datatype: datatype, shape: shape, contents: .fixed(bytes))
  }

  private static func checkedCount(_ name: String, _ shape: [Int]) throws -> Int {
    guard shape.allSatisfy({ $0 >= 0 }) else { throw InferenceError(.badRequest, "input '\(name)': shape \(shape) has a negative dimension") }
    let (count, overflow) = shape.reduce((1, false)) { partial, dimension in
      let product = partial.0.multipliedReportingOverflow(by: dimension)
      return (product.partialValue, partial.1 || product.overflow)
    }
    guard !overflow else { throw InferenceError(.badRequest, "input '\(name)': shape \(shape) is too large") }
    return count
  }

  /// `BYTES` elements from the binary layout: each a 4-byte little-endian length, then that many bytes.
  private static func splitElements(_ name: String, _ bytes: Data, count: Int) throws -> [Data] {
    var elements: [Data] = []
    elements.reserveCapacity(min(count, bytes.count / 4))
    var offset = bytes.startIndex
    while offset < bytes.endIndex {
      guard bytes.endIndex - offset >= 4 else { throw InferenceError(.badRequest, "input '\(name)': binary BYTES data ends inside a length prefix") }
      let length = bytes[offset..<offset + 4].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
      offset += 4
      guard bytes.endIndex - offset >= length else {
        throw InferenceError(.badRequest, "input '\(name)': a BYTES element of \(length) bytes runs past the binary data")
      }
      elements.append(bytes[offset..<offset + length])
      offset += length
    }
    guard elements.count == count else {
      throw InferenceError(.badRequest, "input '\(name)': \(elements.count) BYTES elements of binary data, shape holds \(count)")
    }
    return elements
  }

  // MARK: Reading inputs

  /// The elements of a `BYTES` tensor.
  var byteElements: [Data] {
    if case .elements(let elements) = contents { return elements }
    return []
  }

  /// The elements of a `BYTES` tensor as UTF-8 text.
  func strings() throws -> [String] {
    try byteElements.map { element in
      guard let text = String(data: element, encoding: .utf8) else { throw InferenceError(.badRequest, "input '\(name)' holds bytes that are not UTF-8 text") }
      return text
    }
  }

  /// The little-endian bytes of a fixed-size tensor.
  var fixedBytes: Data {
    if case .fixed(let data) = contents { return data }
    return Data()
  }

  // MARK: Writing outputs

  /// The tensor in the binary extension's layout.
  var binaryData: Data {
    switch contents {
    case .fixed(let data): return data
    case .elements(let elements):
      var data = Data(capacity: elements.reduce(0) { $0 + 4 + $1.count })
      for element in elements {
        withUnsafeBytes(of: UInt32(element.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(element)
      }
      return data
    }
  }

  /// Writes the elements as a flat JSON array.
  /// - Throws: ``InferenceError`` (400) for `BYTES` that are not UTF-8 text: JSON cannot carry them.
  func writeJSONData(to json: inout JSONText) throws {
    switch contents {
    case .elements(let elements):
      try json.array(elements) { json, element in
        guard let text = String(validating: element, as: UTF8.self) else {
          throw InferenceError(.badRequest, "output '\(name)' holds bytes that are not UTF-8 text: ask for it in binary (parameter binary_data)")
        }
        json.string(text)
      }
    case .fixed(let data):
      data.withUnsafeBytes { raw in
        func write<T: FixedWidthInteger>(_: T.Type, _ element: (inout JSONText, T) -> Void) {
          json.array(stride(from: 0, to: raw.count, by: MemoryLayout<T>.size)) { json, offset in
            element(&json, T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self)))
          }
        }
        switch datatype {
        case .bool: write(UInt8.self) { $0.bool($1 != 0) }
        case .uint8: write(UInt8.self) { $0.integer($1) }
        case .uint16: write(UInt16.self) { $0.integer($1) }
        case .uint32: write(UInt32.self) { $0.integer($1) }
        case .uint64: write(UInt64.self) { $0.integer($1) }
        case .int8: write(Int8.self) { $0.integer($1) }
        case .int16: write(Int16.self) { $0.integer($1) }
        case .int32: write(Int32.self) { $0.integer($1) }
        case .int64: write(Int64.self) { $0.integer($1) }
        case .fp16: write(UInt16.self) { $0.number(Float(Float16(bitPattern: $1))) }
        case .fp32: write(UInt32.self) { $0.number(Float(bitPattern: $1)) }
        case .fp64: write(UInt64.self) { $0.number(Double(bitPattern: $1)) }
        case .bytes: json.raw("[]")
        }
      }
    }
  }
}
