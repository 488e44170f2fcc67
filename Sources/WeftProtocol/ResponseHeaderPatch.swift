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
    var writer = ProtobufWriter()
    swap(&writer.bytes, &out)  // append to `out` in place
    writer.varint(1, requestID)
    writer.varint(9, totalMicroseconds)
    writer.varint(13, gatewayQueueMicroseconds)
    writer.varint(11, personalized ? 1 : 0)
    for (key, value) in metadata {
      // A map entry is a message {1: key, 2: MetadataValue {1: text}}.
      // Both written even when empty: an empty text still sets MetadataValue's `text` case.
      let (keyBytes, text) = (Array(key.utf8), Array(value.utf8))
      let valueLength = ProtobufWriter.size(message: 1, length: text.count)
      let entryLength = ProtobufWriter.size(message: 1, length: keyBytes.count) + ProtobufWriter.size(message: 2, length: valueLength)
      writer.message(12, length: entryLength) { entry in
        entry.lengthDelimited(1, keyBytes)
        entry.message(2, length: valueLength) { $0.lengthDelimited(1, text) }
      }
    }
    swap(&writer.bytes, &out)
  }
}
