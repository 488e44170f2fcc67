extension Array where Element == Float {
  /// Whether no value is NaN or infinite (its exponent bits all ones), by integer
  /// operations the compiler vectorises, unlike a per-element `isFinite` closure: a
  /// request's embeddings or audio are checked on every call.
  public var allFinite: Bool {
    withUnsafeBufferPointer { buffer in
      buffer.withMemoryRebound(to: UInt32.self) { bits in
        // The exponent plus one carries into bit 8 only when the exponent is all ones.
        var found: UInt32 = 0
        for word in bits { found |= (((word >> 23) & 0xFF) &+ 1) >> 8 }
        return found == 0
      }
    }
  }
}
