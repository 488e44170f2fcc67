import Foundation
import WeftProtocol
import Yams

/// One key of a section of the config file, spelled once: its YAML name, what it takes,
/// its default, its meaning, and how its value is read into the section. The reference
/// in `docs/CONFIGURATION.md` is written from these (``ConfigurationReference``).
public struct ConfigurationKey<Section> {
  /// The key as the YAML spells it, e.g. `max_batch_size`.
  public let name: String
  /// What it takes, e.g. `whole number, 1 to 4096`.
  public let type: String
  /// What it does.
  public let meaning: String
  /// The section is refused without it.
  public let isRequired: Bool
  /// Its default, as the reference shows it, read off a default section.
  let defaultText: (Section) -> String
  /// Reads `node` into the section.
  let read: (inout Section, Node, ValueReader) throws -> Void

  init(
    _ name: String, type: String, required: Bool = false, meaning: String, defaultText: @escaping (Section) -> String,
    read: @escaping (inout Section, Node, ValueReader) throws -> Void
  ) {
    self.name = name
    self.type = type
    self.meaning = meaning
    self.isRequired = required
    self.defaultText = defaultText
    self.read = read
  }
}

extension ConfigurationKey {
  static func text(_ name: String, _ path: WritableKeyPath<Section, String>, required: Bool = false, _ meaning: String) -> Self {
    Self(name, type: "text", required: required, meaning: meaning, defaultText: { required ? "required" : $0[keyPath: path] }) {
      $0[keyPath: path] = try $2.string($1)
    }
  }

  static func text(_ name: String, _ path: WritableKeyPath<Section, String?>, absent: String, _ meaning: String) -> Self {
    Self(name, type: "text", meaning: meaning, defaultText: { $0[keyPath: path] ?? absent }) { $0[keyPath: path] = try $2.string($1) }
  }

  static func integer(_ name: String, _ path: WritableKeyPath<Section, Int>, _ range: ClosedRange<Int>, _ meaning: String) -> Self {
    Self(name, type: "whole number, \(describe(range))", meaning: meaning, defaultText: { "\($0[keyPath: path])" }) {
      $0[keyPath: path] = try $2.integer($1, in: range)
    }
  }

  static func integer(
    _ name: String, _ path: WritableKeyPath<Section, Int?>, _ range: ClosedRange<Int>, absent: String, _ meaning: String
  ) -> Self {
    Self(name, type: "whole number, \(describe(range))", meaning: meaning, defaultText: { $0[keyPath: path].map { "\($0)" } ?? absent }) {
      $0[keyPath: path] = try $2.integer($1, in: range)
    }
  }

  static func milliseconds(_ name: String, _ path: WritableKeyPath<Section, Duration>, _ range: ClosedRange<Int>, _ meaning: String) -> Self {
    Self(name, type: "milliseconds, \(describe(range))", meaning: meaning, defaultText: { "\($0[keyPath: path].wholeMilliseconds)" }) {
      $0[keyPath: path] = .milliseconds(try $2.integer($1, in: range))
    }
  }

  static func milliseconds(
    _ name: String, _ path: WritableKeyPath<Section, Duration?>, _ range: ClosedRange<Int>, absent: String, _ meaning: String
  ) -> Self {
    Self(
      name, type: "milliseconds, \(describe(range))", meaning: meaning,
      defaultText: { $0[keyPath: path].map { "\($0.wholeMilliseconds)" } ?? absent }
    ) {
      $0[keyPath: path] = .milliseconds(try $2.integer($1, in: range))
    }
  }

  static func microseconds(_ name: String, _ path: WritableKeyPath<Section, Duration>, _ range: ClosedRange<Int>, _ meaning: String) -> Self {
    Self(name, type: "microseconds, \(describe(range))", meaning: meaning, defaultText: { "\($0[keyPath: path].microseconds)" }) {
      $0[keyPath: path] = .microseconds(try $2.integer($1, in: range))
    }
  }

  static func number(_ name: String, _ path: WritableKeyPath<Section, Double>, _ range: ClosedRange<Double>, _ meaning: String) -> Self {
    Self(name, type: "number, \(describe(range))", meaning: meaning, defaultText: { plain($0[keyPath: path]) }) {
      $0[keyPath: path] = try $2.number($1, in: range)
    }
  }

  static func number(_ name: String, _ path: WritableKeyPath<Section, Float>, _ range: ClosedRange<Double>, _ meaning: String) -> Self {
    Self(name, type: "number, \(describe(range))", meaning: meaning, defaultText: { plain(Double($0[keyPath: path])) }) {
      $0[keyPath: path] = Float(try $2.number($1, in: range))
    }
  }

  static func flag(_ name: String, _ path: WritableKeyPath<Section, Bool>, _ meaning: String) -> Self {
    Self(name, type: "true or false", meaning: meaning, defaultText: { "\($0[keyPath: path])" }) { $0[keyPath: path] = try $2.bool($1) }
  }

  static func choice<Value: RawRepresentable<String> & CaseIterable>(
    _ name: String, _ path: WritableKeyPath<Section, Value>, _ meaning: String
  ) -> Self {
    let names = Value.allCases.map(\.rawValue)
    return Self(name, type: "one of: \(names.joined(separator: ", "))", meaning: meaning, defaultText: { $0[keyPath: path].rawValue }) {
      let text = try $2.string($1)
      guard let value = Value(rawValue: text) else { throw $2.error($1, "must be one of \(names.joined(separator: ", ")), got '\(text)'") }
      $0[keyPath: path] = value
    }
  }
}

/// A section of the config file: a mapping whose keys are listed once, in ``keys``.
public protocol ConfigurationSection {
  /// Every key it takes.
  static var keys: [ConfigurationKey<Self>] { get }
  /// The section with every default, for the reference.
  static var defaults: Self { get }
}

extension ConfigurationSection {
  /// `node`'s keys read over `self`; unknown, repeated and missing required keys are
  /// refused with the file, line and key.
  mutating func read(_ node: Node, _ reader: ValueReader) throws {
    let mapping = try reader.mapping(node)
    var seen = Set<String>()
    for (keyNode, value) in mapping {
      let name = try reader.string(keyNode)
      guard let key = Self.keys.first(where: { $0.name == name }) else {
        throw reader.child(name).error(
          keyNode, "unknown key; \(reader.path.isEmpty ? "the file" : reader.path) takes \(Self.keys.map(\.name).joined(separator: ", "))")
      }
      guard seen.insert(name).inserted else { throw reader.child(name).error(keyNode, "given twice") }
      try key.read(&self, value, reader.child(name))
    }
    for key in Self.keys where key.isRequired && !seen.contains(key.name) {
      throw reader.error(node, "missing key '\(key.name)' (\(key.meaning))")
    }
  }

  /// A section read from `node`, starting from `initial`.
  static func read(_ node: Node, _ reader: ValueReader, from initial: Self) throws -> Self {
    var section = initial
    try section.read(node, reader)
    return section
  }
}

extension Duration {
  /// The duration in whole milliseconds.
  var wholeMilliseconds: Int64 { components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000 }
}
