import Foundation

/// A JSON value with its kind kept: `true` stays a boolean and `1` an integer, which
/// `JSONSerialization`'s `NSNumber`s do not tell apart.
enum JSONValue: Decodable, Sendable {
  case null
  case bool(Bool)
  case integer(Int64)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    // Numbers first: tensor data is mostly numbers, and each failed attempt costs a throw.
    if let value = try? container.decode(Int64.self) {
      self = .integer(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else if let value = try? container.decode([String: JSONValue].self) {
      self = .object(value)
    } else if container.decodeNil() {
      self = .null
    } else {
      throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
    }
  }

  /// The value as a number, if it is one.
  var number: Double? {
    switch self {
    case .integer(let value): Double(value)
    case .number(let value): value
    default: nil
    }
  }

  /// Every leaf of nested arrays, in order (OIP allows tensor data flat or nested).
  func flattened() -> [JSONValue] {
    guard case .array(let elements) = self else { return [self] }
    guard elements.contains(where: { if case .array = $0 { true } else { false } }) else { return elements }
    return elements.flatMap { $0.flattened() }
  }

  /// A short description for error messages.
  var summary: String {
    switch self {
    case .null: "null"
    case .bool(let value): "\(value)"
    case .integer(let value): "\(value)"
    case .number(let value): "\(value)"
    case .string(let value): "\"\(value.prefix(32))\""
    case .array: "an array"
    case .object: "an object"
    }
  }
}
