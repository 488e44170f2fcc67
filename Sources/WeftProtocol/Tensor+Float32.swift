import Foundation

extension Tensor {
  /// A FLOAT32 tensor of `shape` holding `values` (row-major, little-endian).
  public static func float32(shape: [Int], values: [Float], name: String = "") -> Tensor {
    precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
    var tensor = Tensor()
    tensor.name = name
    tensor.dtype = .float32
    tensor.shape = shape.map(Int64.init)
    #if _endian(little)
    tensor.data = values.withUnsafeBytes { Data($0) }
    #else
    tensor.data = Data(values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } })
    #endif
    return tensor
  }

  /// The values of a FLOAT32 tensor, checked against its shape.
  public func float32Values() throws -> [Float] {
    guard dtype == .float32 else { throw WeftError(.invalidArgument, "tensor \(name) is \(dtype), expected FLOAT32") }
    let count = shape.reduce(1) { $0 * Int($1) }
    guard shape.allSatisfy({ $0 >= 0 }), data.count == count * 4 else {
      throw WeftError(.invalidArgument, "tensor \(name) has \(data.count) bytes, shape \(shape) needs \(count * 4)")
    }
    #if _endian(little)
    // The wire layout is the machine's: one copy (Data's bytes may be unaligned for Float).
    return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      _ = data.copyBytes(to: UnsafeMutableRawBufferPointer(buffer))
      initialized = count
    }
    #else
    return data.withUnsafeBytes { raw in
      (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
    }
    #endif
  }
}
