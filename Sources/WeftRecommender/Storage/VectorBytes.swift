import Foundation

/// How both stores keep vectors and label lists in one column: vectors as
/// little-endian IEEE values (the machine's own layout here), labels joined by a
/// separator no identifier uses in practice.
enum VectorBytes {
  static let labelSeparator = "\u{1F}"

  static func data<Element: BinaryFloatingPoint>(_ values: [Element]) -> Data {
    values.withUnsafeBufferPointer { Data(buffer: $0) }
  }

  static func values<Element: BinaryFloatingPoint>(_ bytes: UnsafeRawBufferPointer) -> [Element] {
    let count = bytes.count / MemoryLayout<Element>.stride
    return [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
      UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<count * MemoryLayout<Element>.stride]))
      initialized = count
    }
  }

  static func values<Element: BinaryFloatingPoint>(_ data: Data) -> [Element] {
    data.withUnsafeBytes { values($0) }
  }

  static func labels(_ joined: String) -> [String] {
    joined.isEmpty ? [] : joined.components(separatedBy: labelSeparator)
  }

  static func joined(_ labels: [String]) -> String { labels.joined(separator: labelSeparator) }
}
