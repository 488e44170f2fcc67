import WeftProtocol

/// A ZeroMQ routing identity of up to 16 bytes, packed into integers so it hashes and
/// compares without allocating. libzmq's own identities are 5 bytes.
struct PeerID: Hashable, Sendable, CustomStringConvertible {
  private let low: UInt64
  private let high: UInt64
  private let count: UInt8

  /// Packs `bytes`; nil when longer than 16 bytes.
  init?(_ bytes: UnsafeRawBufferPointer) {
    guard bytes.count <= 16 else { return nil }
    var low: UInt64 = 0
    var high: UInt64 = 0
    for (index, byte) in bytes.enumerated() {
      if index < 8 { low |= UInt64(byte) << (8 * UInt64(index)) } else {
        high |= UInt64(byte) << (8 * UInt64(index - 8))
      }
    }
    self.low = low
    self.high = high
    count = UInt8(bytes.count)
  }

  /// No peer: the owner of requests no client sent itself.
  static let anonymous = PeerID(low: 0, high: 0, count: 0)

  private init(low: UInt64, high: UInt64, count: UInt8) {
    (self.low, self.high, self.count) = (low, high, count)
  }

  /// The key of a peer's budget: its identity, or for an identity over 16 bytes (a client
  /// may choose one) an FNV-1a hash of it, marked by a length no identity has.
  init(budgetKeyOf bytes: UnsafeRawBufferPointer) {
    if let exact = PeerID(bytes) {
      self = exact
    } else {
      (low, high, count) = (FNV1a.hash(bytes), UInt64(bytes.count), 255)
    }
  }

  /// Calls `body` with the identity bytes, without allocating: on a little-endian
  /// machine the two words hold the bytes in order.
  func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
    let words = (low.littleEndian, high.littleEndian)
    return try Swift.withUnsafeBytes(of: words) { try body(UnsafeRawBufferPointer(rebasing: $0.prefix(Int(count)))) }
  }

  /// The identity bytes.
  var bytes: [UInt8] {
    (0..<Int(count)).map { index in
      index < 8 ? UInt8(truncatingIfNeeded: low >> (8 * UInt64(index)))
        : UInt8(truncatingIfNeeded: high >> (8 * UInt64(index - 8)))
    }
  }

  /// Hex, for logs and `weft status`.
  var description: String { bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}
