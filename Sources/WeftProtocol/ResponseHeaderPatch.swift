/// Fields the gateway adds to a worker's encoded ``ResponseHeader`` without decoding it.
///
/// Protobuf merges concatenated encodings, and a later scalar field wins, so appending
/// these bytes to the worker's header sets them. Only non-zero fields are written.
public struct ResponseHeaderPatch: Sendable {
  /// Microseconds the request waited in the gateway's service queue.
  public var gatewayQueueMicroseconds: UInt64 = 0
  /// Microseconds from the gateway receiving the request to sending this reply.
  public var totalMicroseconds: UInt64 = 0
  /// The client's request id, restored in case the worker left it out.
  public var requestID: UInt64 = 0
  /// The reply passed through the recommender.
  public var personalized = false
  /// Text metadata entries to add (a map field: each entry is merged into the map).
  public var metadata: [(key: String, value: String)] = []

  /// An empty patch.
  public init() {}

  /// Writes the patch's fields to `out` in protobuf wire format.
  public func encode(into out: inout [UInt8]) {
    Self.appendVarintField(1, requestID, to: &out)
    Self.appendVarintField(9, totalMicroseconds, to: &out)
    Self.appendVarintField(13, gatewayQueueMicroseconds, to: &out)
    Self.appendVarintField(11, personalized ? 1 : 0, to: &out)
    for (key, value) in metadata {
      // A map entry is a message {1: key, 2: MetadataValue {1: text}}.
      var text: [UInt8] = []
      Self.appendBytesField(1, Array(value.utf8), to: &text)
      var entry: [UInt8] = []
      Self.appendBytesField(1, Array(key.utf8), to: &entry)
      Self.appendBytesField(2, text, to: &entry)
      Self.appendBytesField(12, entry, to: &out)
    }
  }

  private static func appendBytesField(_ field: UInt64, _ bytes: [UInt8], to out: inout [UInt8]) {
    appendVarint(field << 3 | 2, to: &out)  // wire type 2: length-delimited
    appendVarint(UInt64(bytes.count), to: &out)
    out.append(contentsOf: bytes)
  }

  private static func appendVarintField(_ field: UInt64, _ value: UInt64, to out: inout [UInt8]) {
    guard value != 0 else { return }
    appendVarint(field << 3, to: &out)  // wire type 0: varint
    appendVarint(value, to: &out)
  }

  private static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
    var value = value
    while value >= 0x80 {
      out.append(UInt8(truncatingIfNeeded: value) | 0x80)
      value >>= 7
    }
    out.append(UInt8(value))
  }
}
