import SwiftProtobuf
import WeftModels
import WeftProtocol

/// The fields of a reply's ResponseHeader that differ from reply to reply. The worker's
/// name and version (``ReplyOrigin``) and whether the reply is final are added as it is
/// written: by the socket thread, into bytes it reuses, so a reply allocates no header.
struct ReplyHeader: Sendable {
  // No default values: each initialiser sets every field once (with defaults, each
  // reply's header was built empty, then its strings and metadata replaced).
  var requestID: UInt64
  var status: StatusCode
  var message: String
  var metadata: [String: MetadataValue]
  var timing: Completion.Timing

  /// An empty header (a CALL_CREDIT has none).
  init() {
    (requestID, status, message, metadata, timing) = (0, .ok, "", [:], Completion.Timing())
  }

  /// The header of `response` to request `requestID`.
  init(requestID: UInt64, response: InferenceResponse, timing: Completion.Timing) {
    (self.requestID, status, message, metadata, self.timing) = (requestID, response.status, response.message, response.metadata, timing)
  }

  /// The header of an error the worker answers itself.
  init(requestID: UInt64, error: WeftError) {
    (self.requestID, status, message, metadata, timing) = (requestID, error.code, error.message, error.metadata, Completion.Timing())
  }

  /// Appends the encoded ResponseHeader to `writer`. Without metadata (most replies) the
  /// fields are written straight to bytes, in field order as SwiftProtobuf writes them
  /// (tested equal); building the message costs more than the echo model's whole step.
  func encode(isFinal: Bool, origin: ReplyOrigin, into writer: inout ProtobufWriter) {
    guard !metadata.isEmpty else {
      writer.varint(1, requestID)
      writer.varint(2, UInt64(truncatingIfNeeded: Int64(status.wireValue.rawValue)))  // an int32 enum
      writer.string(3, message)
      writer.varint(4, isFinal ? 1 : 0)
      writer.bytes.append(contentsOf: origin.encodedFields)  // fields 5 and 6
      writer.varint(7, timing.queueMicroseconds)
      writer.varint(8, timing.computeMicroseconds)
      writer.varint(10, UInt64(UInt32(timing.batchSize)))
      return
    }
    var header = ResponseHeader()
    header.requestID = requestID
    header.status = status.wireValue
    header.message = message
    header.endOfStream = isFinal
    header.workerID = origin.workerName
    header.modelVersion = origin.version
    header.queueUs = timing.queueMicroseconds
    header.computeUs = timing.computeMicroseconds
    header.batchSize = UInt32(timing.batchSize)
    header.metadata = metadata
    writer.bytes.append(contentsOf: (try? header.serializedBytes() as [UInt8]) ?? [])
  }
}
