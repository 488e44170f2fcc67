import Foundation
import WeftProtocol
import Yams

/// Reads scalar values out of YAML nodes; every error names the file, the line and the
/// key's path (`deploy/weft.yaml:14: workers[2].max_batch_size: …`).
struct ValueReader {
  /// The file (or other source) the YAML came from.
  let source: String
  /// Where in the file: `gateway`, `workers[2]`, `routes[0].ramp`.
  let path: String
  /// Whether a mesh key directory the file names is filled in where keys are missing
  /// (`weft up`), rather than refused.
  var createsMeshKeys = false

  /// The reader for `key` inside this section.
  func child(_ key: String) -> ValueReader {
    ValueReader(source: source, path: path.isEmpty ? key : "\(path).\(key)", createsMeshKeys: createsMeshKeys)
  }

  /// The reader for item `index` of the list this reader is at.
  func item(_ index: Int) -> ValueReader { ValueReader(source: source, path: "\(path)[\(index)]", createsMeshKeys: createsMeshKeys) }

  /// An error at `node`'s line.
  func error(_ node: Node?, _ message: String) -> ConfigurationError {
    let line = node?.mark.map { ":\($0.line)" } ?? ""
    return ConfigurationError("\(source)\(line): \(path.isEmpty ? "" : "\(path): ")\(message)")
  }

  func string(_ node: Node) throws -> String {
    guard case .scalar(let scalar) = node else { throw error(node, "must be text, got a \(kind(node))") }
    return scalar.string
  }

  func integer(_ node: Node, in range: ClosedRange<Int>) throws -> Int {
    guard case .scalar = node, let value = node.int else { throw error(node, "must be a whole number, got \(shown(node))") }
    guard range.contains(value) else { throw error(node, "must be \(describe(range)), got \(value)") }
    return value
  }

  func number(_ node: Node, in range: ClosedRange<Double>) throws -> Double {
    guard case .scalar = node, let value = node.float, value.isFinite else {
      throw error(node, "must be a number, got \(shown(node))")
    }
    guard range.contains(value) else { throw error(node, "must be \(describe(range)), got \(value)") }
    return value
  }

  func bool(_ node: Node) throws -> Bool {
    guard case .scalar = node, let value = node.bool else { throw error(node, "must be true or false, got \(shown(node))") }
    return value
  }

  func mapping(_ node: Node) throws -> Node.Mapping {
    guard case .mapping(let mapping) = node else { throw error(node, "must be a mapping of keys, got a \(kind(node))") }
    return mapping
  }

  func sequence(_ node: Node) throws -> [Node] {
    guard case .sequence(let sequence) = node else { throw error(node, "must be a list, got a \(kind(node))") }
    return Array(sequence)
  }

  private func shown(_ node: Node) -> String {
    if case .scalar(let scalar) = node { return "'\(scalar.string)'" }
    return "a \(kind(node))"
  }

  private func kind(_ node: Node) -> String {
    switch node {
    case .scalar: "value"
    case .mapping: "mapping"
    case .sequence: "list"
    case .alias: "alias"
    }
  }
}

/// How a range reads in an error and in the reference.
func describe(_ range: ClosedRange<Int>) -> String {
  range.upperBound == .max ? "at least \(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
}

/// How a range reads in an error and in the reference.
func describe(_ range: ClosedRange<Double>) -> String {
  if range.upperBound == .greatestFiniteMagnitude { return "at least \(plain(range.lowerBound))" }
  return "\(plain(range.lowerBound)) to \(plain(range.upperBound))"
}

/// `1` rather than `1.0`, `0.25` as is.
func plain(_ value: Double) -> String {
  value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
}
