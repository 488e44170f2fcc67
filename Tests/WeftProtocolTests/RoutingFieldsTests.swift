import Foundation
import SwiftProtobuf
import Testing
import WeftProtocol

@Suite struct RoutingFieldsTests {
  @Test func readsTheSameFieldsAsAFullDecode() throws {
    var header = RequestHeader()
    header.requestID = 1 << 40
    header.service = "a-service-name-longer-than-fifteen"
    header.method = "embed"
    header.timeoutMs = 1_500
    header.idempotent = true
    header.personalize = true
    header.version = "v2"
    header.userID = "user-7"
    header.priority = 9
    header.metadata["trace"] = MetadataValue.with { $0.text = "x" }
    header.metadata["blob"] = MetadataValue.with { $0.binary = Data([0, 1, 2]) }
    let bytes: [UInt8] = try header.serializedBytes()
    let fields = try bytes.withUnsafeBytes { try RoutingFields(parsing: $0) }
    #expect(fields.requestID == header.requestID)
    #expect(fields.service == header.service)
    #expect(fields.method == header.method)
    #expect(fields.timeoutMilliseconds == 1_500)
    #expect(fields.idempotent && fields.personalize)
    #expect(fields.version == "v2")
    #expect(fields.userID == "user-7")
    #expect(fields.priority == 9)
    #expect(!fields.cancel)
    let cancel: [UInt8] = try RequestHeader.with { $0.requestID = 7; $0.cancel = true }.serializedBytes()
    let cancelFields = try cancel.withUnsafeBytes { try RoutingFields(parsing: $0) }
    #expect(cancelFields.cancel && cancelFields.requestID == 7)
    // A priority past 255 is read as 255, not wrapped.
    header.priority = 1_000
    let high: [UInt8] = try header.serializedBytes()
    #expect(try high.withUnsafeBytes { try RoutingFields(parsing: $0) }.priority == 255)
  }

  @Test func rejectsWhatAFullDecodeRejects() throws {
    var header = RequestHeader()
    header.service = "echo"
    header.method = "echo"
    let good: [UInt8] = try header.serializedBytes()
    let malformed: [[UInt8]] = [
      Array(good.dropLast()),  // string runs past the end
      [0x08, 0xff],  // truncated varint
      [0x12, 0x02, 0xff, 0xfe],  // service is not UTF-8
      [0x00, 0x01],  // field number 0
      [0x0f],  // wire type 7
      [0x08] + Array(repeating: 0xff, count: 11),  // overlong varint
    ]
    for bytes in malformed {
      #expect(throws: RoutingFields.Malformed.self, "\(bytes)") { try bytes.withUnsafeBytes { try RoutingFields(parsing: $0) } }
      #expect(throws: (any Error).self, "SwiftProtobuf should reject \(bytes) too") { try RequestHeader(serializedBytes: bytes) }
    }
  }

  @Test func skipsUnknownFieldsOfEveryWireType() throws {
    var bytes: [UInt8] = [0x08, 0x05]  // request_id = 5
    bytes += [0x98, 0x06, 0x01]  // field 99 varint
    bytes += [0xa1, 0x06] + Array(repeating: 0, count: 8)  // field 100 fixed64
    bytes += [0xaa, 0x06, 0x02, 0x41, 0x42]  // field 101 bytes
    bytes += [0xb5, 0x06, 0, 0, 0, 0]  // field 102 fixed32
    bytes += [0x12, 0x04] + Array("text".utf8)
    let fields = try bytes.withUnsafeBytes { try RoutingFields(parsing: $0) }
    #expect(fields.requestID == 5)
    #expect(fields.service == "text")
  }

  @Test func nameTableReturnsStoredNamesAndStaysBounded() throws {
    let names = NameTable(limit: 2)
    var header = RequestHeader()
    header.service = "echo"
    header.method = "echo"
    let bytes: [UInt8] = try header.serializedBytes()
    let first = try bytes.withUnsafeBytes { try RoutingFields(parsing: $0, names: names) }
    let second = try bytes.withUnsafeBytes { try RoutingFields(parsing: $0, names: names) }
    #expect(first == second)
    #expect(Array("echo".utf8).withUnsafeBytes { names.lookup($0) } == "echo")
    names.remember("a")
    names.remember("b")  // past the limit of 2: not kept
    #expect(Array("a".utf8).withUnsafeBytes { names.lookup($0) } == "a")
    #expect(Array("b".utf8).withUnsafeBytes { names.lookup($0) } == nil)
    // Invalid UTF-8 is still rejected when the table is in use.
    #expect(throws: RoutingFields.Malformed.self) {
      try [UInt8]([0x12, 0x02, 0xff, 0xfe]).withUnsafeBytes { try RoutingFields(parsing: $0, names: names) }
    }
  }

  /// Names are built by a quick path when ASCII and validated otherwise: both give the
  /// full decode's strings, with a non-ASCII byte in the 8-byte words and in the tail.
  @Test func readsASCIIAndOtherUTF8NamesAlike() throws {
    for name in ["echo", "abcdefgh", "abcdefghé", "ünïcode-user-ß", "abcdefghijklmnopqrstuvwxyz-0123456789", "日本語のユーザー"] {
      var header = RequestHeader()
      header.service = name
      header.userID = name
      let bytes: [UInt8] = try header.serializedBytes()
      for names in [nil, NameTable()] {
        let fields = try bytes.withUnsafeBytes { try RoutingFields(parsing: $0, names: names) }
        #expect(fields.service == name && fields.userID == name)
      }
    }
    // Invalid UTF-8 after eight ASCII bytes is still rejected.
    let invalid: [UInt8] = [0x12, 0x0a] + Array("abcdefgh".utf8) + [0xc3, 0x28]
    #expect(throws: RoutingFields.Malformed.self) { try invalid.withUnsafeBytes { try RoutingFields(parsing: $0) } }
    #expect(throws: (any Error).self) { try RequestHeader(serializedBytes: invalid) }
  }
}
