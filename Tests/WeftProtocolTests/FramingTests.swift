import Foundation
import SwiftProtobuf
import Testing
import WeftProtocol

@Suite struct FramingTests {
  @Test func statusCodesMatchGRPCNumbersAndNames() {
    #expect(StatusCode.allCodes.count == 17)
    #expect(StatusCode.deadlineExceeded.rawValue == 4)
    #expect(StatusCode.resourceExhausted.rawValue == 8)
    #expect(StatusCode.unavailable.rawValue == 14)
    #expect(StatusCode.unauthenticated.name == "UNAUTHENTICATED")
    #expect(StatusCode(rawValue: 17) == nil)
    for code in StatusCode.allCodes {
      #expect(StatusCode(wireValue: code.wireValue) == code)
    }
    // The generated enum carries the same numbers as the Swift type.
    #expect(Weft_V1_StatusCode.unauthenticated.rawValue == 16)
  }

  @Test func signaturesAreCheckedBySideAndVersion() {
    func check(_ bytes: [UInt8], _ expected: [UInt8]) -> Signature.Check {
      bytes.withUnsafeBytes { Signature.check($0, expected: expected) }
    }
    #expect(check(Signature.client, Signature.client) == .valid)
    #expect(check([0x57, 0x46, 0x57, 1], Signature.client) == .invalid)
    #expect(check([0x57, 0x46, 0x43, 2], Signature.client) == .unsupportedVersion(2))
    #expect(check([0x57, 0x46, 0x43], Signature.client) == .invalid)
  }

  @Test func envelopeRoundTripsLittleEndian() throws {
    let request = WorkerEnvelope(.request, dispatchID: 0x0102_0304_0506_0708, remainingMilliseconds: 0x0A0B_0C0D)
    #expect(request.bytes == [0x57, 0x46, 0x57, 1, 2, 8, 7, 6, 5, 4, 3, 2, 1, 0x0D, 0x0C, 0x0B, 0x0A])
    #expect(try request.bytes.withUnsafeBytes { try WorkerEnvelope(decoding: $0) } == request)
    for command in WorkerCommand.allCases {
      let envelope = WorkerEnvelope(command, dispatchID: command.carriesDispatch ? 9 : 0)
      #expect(envelope.bytes.count == (command.carriesDispatch ? 17 : 5))
      #expect(try envelope.bytes.withUnsafeBytes { try WorkerEnvelope(decoding: $0) } == envelope)
    }
  }

  @Test func aVersionTwoEnvelopeCarriesTheHeaderInItsFrame() throws {
    let final = WorkerEnvelope(.final, dispatchID: 7, inlineHeader: true)
    let header: [UInt8] = [0x08, 0x2a, 0x20, 0x01]  // request_id 42, end_of_stream
    let frame = final.bytes + header
    #expect(frame[3] == 2)
    try frame.withUnsafeBytes { frame in
      let decoded = try WorkerEnvelope(decoding: frame)
      #expect(decoded == final)
      #expect(decoded.hasInlineHeader)
      #expect(Array(WorkerEnvelope.inlineHeader(in: frame)) == header)
      #expect(WorkerEnvelope.hasInlineHeader(frame))
    }
    #expect(!WorkerEnvelope(.final, dispatchID: 7).bytes.withUnsafeBytes { WorkerEnvelope.hasInlineHeader($0) })
    // An empty header (every field at its default) is a 17-byte frame of version 2.
    #expect(try final.bytes.withUnsafeBytes { try WorkerEnvelope(decoding: $0) }.hasInlineHeader)
    // Version 1 keeps the header in the next frame: the envelope is exactly 17 bytes.
    #expect(!WorkerEnvelope(.final, dispatchID: 7).hasInlineHeader)
  }

  @Test func aHeadedMessageIsReadFromItsFramesInEitherLayout() throws {
    /// Reads `message` from its frames; returns its envelope, header and the frames left.
    func read(_ message: [[UInt8]]) throws -> (WorkerEnvelope, [UInt8]?, [[UInt8]]) {
      let buffers = message.map { frame in
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: frame.count, alignment: 1)
        buffer.copyBytes(from: frame)
        return UnsafeRawBufferPointer(buffer)
      }
      defer { buffers.forEach { $0.deallocate() } }
      var frames = buffers.makeIterator()
      let (envelope, header) = try WorkerEnvelope.decodeHeaded(from: &frames)
      return (envelope, header.map(Array.init), Array(IteratorSequence(frames)).map(Array.init))
    }
    let header: [UInt8] = [0x08, 0x2a]
    let body: [UInt8] = [1, 2, 3]
    let separate = try read([WorkerEnvelope(.request, dispatchID: 3).bytes, header, body])
    #expect(separate.0.dispatchID == 3 && separate.1 == header && separate.2 == [body])
    let inline = try read([WorkerEnvelope(.final, dispatchID: 4, inlineHeader: true).bytes + header, body])
    #expect(inline.0.command == .final && inline.1 == header && inline.2 == [body])
    // A command without a header takes no frame as one; a missing header frame is nil.
    let ready = try read([WorkerEnvelope(.ready).bytes, [9, 9]])
    #expect(ready.1 == nil && ready.2 == [[9, 9]])
    #expect(try read([WorkerEnvelope(.partial, dispatchID: 5).bytes]).1 == nil)
    #expect(throws: WorkerEnvelope.Malformed.notAWorkerSignature) { try read([]) }
    #expect(throws: WorkerEnvelope.Malformed.unknownCommand(99)) { try read([[0x57, 0x46, 0x57, 1, 99], header]) }
  }

  @Test func malformedEnvelopesSayWhatIsWrong() {
    func decode(_ bytes: [UInt8]) -> WorkerEnvelope.Malformed? {
      do {
        _ = try bytes.withUnsafeBytes { try WorkerEnvelope(decoding: $0) }
        return nil
      } catch let error as WorkerEnvelope.Malformed { return error } catch { return nil }
    }
    #expect(decode([0x57, 0x46, 0x43, 1, 5]) == .notAWorkerSignature)
    #expect(decode([0x57, 0x46, 0x57, 3, 5]) == .unsupportedVersion(3))
    #expect(decode([0x57, 0x46, 0x57, 2, 5]) == .noHeader(.heartbeat))
    #expect(decode([0x57, 0x46, 0x57, 2, 4, 1, 2, 3]) == .wrongSize(command: .final, bytes: 8))
    #expect(decode([0x57, 0x46, 0x57, 1, 99]) == .unknownCommand(99))
    #expect(decode([0x57, 0x46, 0x57, 1, 2]) == .wrongSize(command: .request, bytes: 5))
    #expect(decode([0x57, 0x46, 0x57, 1, 5, 0]) == .wrongSize(command: .heartbeat, bytes: 6))
    #expect(decode([0x57, 0x46]) == .notAWorkerSignature)
  }

  @Test func appendedPatchOverridesAndAddsFieldsWithoutADecode() throws {
    var worker = ResponseHeader()
    worker.requestID = 0  // a worker that left it out
    worker.status = .ok
    worker.workerID = "w1"
    worker.computeUs = 1234
    worker.queueUs = 55
    worker.metadata["model"] = .with { $0.text = "m" }
    var bytes: [UInt8] = try worker.serializedBytes()
    var patch = ResponseHeaderPatch()
    patch.requestID = 42
    patch.totalMicroseconds = 9_999_999
    patch.gatewayQueueMicroseconds = 300
    patch.personalized = true
    patch.metadata = [("weft-personalize", "skipped: ünavailable"), ("empty", "")]
    patch.encode(into: &bytes)
    let merged = try ResponseHeader(serializedBytes: bytes)
    #expect(merged.requestID == 42)
    #expect(merged.totalUs == 9_999_999)
    #expect(merged.gatewayQueueUs == 300)
    #expect(merged.computeUs == 1234)
    #expect(merged.queueUs == 55)
    #expect(merged.workerID == "w1")
    #expect(merged.personalized)
    #expect(merged.metadata["weft-personalize"]?.text == "skipped: ünavailable")
    #expect(merged.metadata["model"]?.text == "m")
    #expect(merged.metadata["empty"]?.value == .text(""))  // an empty text is still text
  }

  @Test func scanReadsOneVarintFieldAndRejectsGarbage() throws {
    var header = ResponseHeader()
    header.requestID = 300
    header.status = .unavailable
    header.message = "x"
    let bytes: [UInt8] = try header.serializedBytes()
    #expect(bytes.withUnsafeBytes { ProtobufScan.varintField(2, in: $0) } == 14)
    #expect(bytes.withUnsafeBytes { ProtobufScan.varintField(1, in: $0) } == 300)
    #expect(bytes.withUnsafeBytes { ProtobufScan.varintField(9, in: $0) } == nil)
    #expect([UInt8]([0xff, 0xff]).withUnsafeBytes { ProtobufScan.varintField(2, in: $0) } == nil)
    #expect([UInt8]([0x1a, 0x09, 0x01]).withUnsafeBytes { ProtobufScan.varintField(2, in: $0) } == nil)
  }

  @Test func decodingFromABorrowedBufferMatchesArrayDecoding() throws {
    var header = RequestHeader()
    header.requestID = 77
    header.service = "text"
    header.method = "embed"
    header.metadata["k"] = MetadataValue.with { $0.binary = Data([1, 2]) }
    let bytes: [UInt8] = try header.serializedBytes()
    let borrowed = try bytes.withUnsafeBytes { try RequestHeader(borrowing: $0) }
    #expect(borrowed == header)
  }

  @Test func deadlineQueuePopsInOrderAndCompacts() {
    var queue = DeadlineQueue()
    for (id, deadline) in [(1, 50), (2, 10), (3, 30), (4, 20), (5, 40)] as [(UInt64, UInt64)] {
      queue.insert(id: id, deadline: deadline)
    }
    #expect(queue.nextDeadline == 10)
    #expect(queue.popExpired(at: 9) == nil)
    var order: [UInt64] = []
    while let (_, id) = queue.popExpired(at: 35) { order.append(id) }
    #expect(order == [2, 4, 3])
    queue.compact { $0 != 5 }
    #expect(queue.count == 1)
    #expect(queue.popExpired(at: 100)?.id == 1)
  }
}
