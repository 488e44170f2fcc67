import Foundation
import WeftProtocol

#if canImport(Glibc)
import Glibc
#endif

/// A safetensors file, memory-mapped read-only: tensors are views into the mapping,
/// never copied. The mapping lives as long as this object.
///
/// Format: an 8-byte little-endian header length, a JSON header mapping each tensor name
/// to `dtype`, `shape` and `data_offsets` (relative to the end of the header), then the
/// raw little-endian data.
public final class SafetensorsFile: @unchecked Sendable {
  // @unchecked: the mapping is read-only and immutable for the object's lifetime.
  /// One tensor's entry in the header.
  public struct Entry: Sendable, Equatable {
    public let dtype: String
    public let shape: [Int]
    /// Byte range within the data section.
    public let range: Range<Int>
  }

  /// Why a file could not be used; each says which file and what is wrong.
  public struct LoadError: Error, CustomStringConvertible, Sendable {
    public let description: String
  }

  /// The file's path.
  public let path: String
  /// Every tensor in the header, by name.
  public let entries: [String: Entry]
  private let base: UnsafeRawPointer
  private let mappedSize: Int
  private let dataOffset: Int

  /// Maps `path` and reads its header.
  public init(path: String) throws {
    self.path = path
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      throw LoadError(description: "cannot open weights file \(path): \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw LoadError(description: "cannot stat \(path)") }
    let size = Int(info.st_size)
    guard size >= 8 else { throw LoadError(description: "\(path) is truncated: \(size) bytes, not even a header length") }
    guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapping != MAP_FAILED else {
      throw LoadError(description: "cannot map \(path): \(String(cString: strerror(errno)))")
    }
    base = UnsafeRawPointer(mapping)
    mappedSize = size
    do {
      let headerLength = Int(UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)))
      guard headerLength <= size - 8 else {
        throw LoadError(description: "\(path) is truncated: header says \(headerLength) bytes, file has \(size - 8)")
      }
      dataOffset = 8 + headerLength
      let header = Data(bytes: base + 8, count: headerLength)
      entries = try SafetensorsFile.parseHeader(header, path: path, dataSize: size - dataOffset)
    } catch {
      munmap(mapping, size)
      throw error
    }
  }

  deinit { munmap(UnsafeMutableRawPointer(mutating: base), mappedSize) }

  private static func parseHeader(_ header: Data, path: String, dataSize: Int) throws -> [String: Entry] {
    guard let json = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
      throw LoadError(description: "\(path): the header is not a JSON object")
    }
    var entries: [String: Entry] = [:]
    for (name, value) in json where name != "__metadata__" {
      guard let fields = value as? [String: Any], let dtype = fields["dtype"] as? String,
        let shape = fields["shape"] as? [Int], let offsets = fields["data_offsets"] as? [Int], offsets.count == 2,
        offsets[0] >= 0, offsets[0] <= offsets[1]
      else { throw LoadError(description: "\(path): malformed header entry for \(name)") }
      guard offsets[1] <= dataSize else {
        throw LoadError(description: "\(path) is truncated: \(name) ends at byte \(offsets[1]) of a \(dataSize)-byte data section")
      }
      let elementSize = ["F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "U8": 1, "I8": 1][dtype] ?? 0
      guard elementSize > 0 else { throw LoadError(description: "\(path): \(name) has unsupported dtype \(dtype)") }
      guard shape.reduce(1, *) * elementSize == offsets[1] - offsets[0] else {
        throw LoadError(description: "\(path): \(name) is \(offsets[1] - offsets[0]) bytes, not \(shape) of \(dtype)")
      }
      entries[name] = Entry(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
    }
    return entries
  }

  /// A model's `model.safetensors` in `directory`; when it is missing, a
  /// ConfigurationError telling the operator to run set-up, which fetches `source`.
  public static func modelWeights(in directory: String, model: String, source: String) throws -> SafetensorsFile {
    let path = directory + "/model.safetensors"
    guard FileManager.default.fileExists(atPath: path) else {
      throw ConfigurationError("\(model) model weights not found at \(path): run scripts/fetch-models.sh (it fetches \(source))")
    }
    return try SafetensorsFile(path: path)
  }

  /// The float32 tensor `name`, checked against `shape`.
  public func float32(_ name: String, shape expected: [Int]) throws -> WeightTensor {
    guard let entry = entries[name] else { throw LoadError(description: "\(path) has no tensor \(name)") }
    guard entry.dtype == "F32" else { throw LoadError(description: "\(path): \(name) is \(entry.dtype), expected F32") }
    guard entry.shape == expected else {
      throw LoadError(description: "\(path): \(name) has shape \(entry.shape), expected \(expected)")
    }
    let start = base + dataOffset + entry.range.lowerBound
    // safetensors data is little-endian; this machine is too. Unaligned floats would be
    // a file bug: the format aligns each tensor, and the loader checks it.
    guard Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0 else {
      throw LoadError(description: "\(path): \(name) is not 4-byte aligned")
    }
    let pointer = start.assumingMemoryBound(to: Float.self)
    return WeightTensor(shape: entry.shape, values: UnsafeBufferPointer(start: pointer, count: entry.shape.reduce(1, *)), owner: self)
  }
}

/// A read-only float32 tensor inside a mapped weights file (which it keeps alive).
public struct WeightTensor: @unchecked Sendable {
  // @unchecked: the memory is a read-only mapping owned by `owner`.
  public let shape: [Int]
  public let values: UnsafeBufferPointer<Float>
  let owner: SafetensorsFile

  /// The first element's address.
  public var pointer: UnsafePointer<Float> { values.baseAddress! }
}
