import Foundation
import SwiftProtobuf
import Testing
import WeftModels
import WeftProtocol

@testable import WeftWorker

/// The reply header written straight to bytes is byte for byte what SwiftProtobuf writes
/// for the same message, zero fields, errors and multi-byte varints included.
@Suite struct CompletionHeaderTests {
  @Test(arguments: [
    (InferenceResponse.ok([Data([1])]), UInt64(1), true, Completion.Timing(queueMicroseconds: 0, computeMicroseconds: 7, batchSize: 1)),
    (
      InferenceResponse.failure(WeftError(.resourceExhausted, "büsy: ✓")), UInt64.max, true,
      Completion.Timing(queueMicroseconds: 300_000, computeMicroseconds: 0, batchSize: 300)
    ),
    (InferenceResponse.ok([]), UInt64(0), false, Completion.Timing()),
  ])
  func writtenHeaderEqualsSwiftProtobufs(response: InferenceResponse, requestID: UInt64, isFinal: Bool, timing: Completion.Timing) throws {
    // The worker's name and version are encoded once per worker; empty ones are left out.
    for (name, version) in [("host:42", "v2"), ("", "")] {
      var writer = ProtobufWriter()
      ReplyHeader(requestID: requestID, response: response, timing: timing)
        .encode(isFinal: isFinal, origin: ReplyOrigin(workerName: name, version: version), into: &writer)
      let written = writer.bytes
      var expected = ResponseHeader()
      expected.requestID = requestID
      expected.status = response.status.wireValue
      expected.message = response.message
      expected.endOfStream = isFinal
      expected.workerID = name
      expected.modelVersion = version
      expected.queueUs = timing.queueMicroseconds
      expected.computeUs = timing.computeMicroseconds
      expected.batchSize = UInt32(timing.batchSize)
      #expect(written == (try expected.serializedBytes() as [UInt8]))
      #expect(try ResponseHeader(serializedBytes: written) == expected)
    }
  }
}
