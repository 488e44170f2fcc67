import Foundation
import SwiftProtobuf
import WeftProtocol

/// A personalise call as the ranker takes it: columns, not one message per candidate.
///
/// Read straight from the request's bytes (``init(serialized:)``), so a call does not
/// build a hundred `Candidate` messages and arrays only to take them apart again, or
/// made from a decoded `PersonalizeRequest` (the gateway's rerank builds one).
struct PersonalizeInput: Equatable {
  var user = ""
  var ids: [String] = []
  var modelScores: [Float] = []
  /// Each candidate's own embedding, empty where it sent none.
  var embeddings: [[Float]] = []
  var labels: [[String]] = []
  /// The request's FLOAT32 [candidates, dimensions] matrix, when it sent one.
  var matrix: Matrix?
  var exploration: Float?
  var topK: UInt32 = 0

  var count: Int { ids.count }

  init(_ request: Weft_V1_PersonalizeRequest) {
    user = request.user
    ids = request.candidates.map(\.id)
    modelScores = request.candidates.map(\.modelScore)
    embeddings = request.candidates.map(\.embedding)
    labels = request.candidates.map(\.labels)
    matrix = request.hasEmbeddings ? Matrix(request.embeddings) : nil
    exploration = request.hasExploration ? request.exploration.scale : nil
    topK = request.topK
  }

  /// Reads an encoded `PersonalizeRequest` (field numbers from recommender.proto).
  init(serialized body: Data) throws {
    try body.withUnsafeBytes { bytes in
      var reader = ProtobufFieldReader(bytes)
      while let (number, value) = reader.next() {
        switch (number, value) {
        case (1, .bytes(let text)): user = try Self.string(text, "user")
        case (2, .bytes(let candidate)): try readCandidate(candidate)
        case (3, .bytes(let message)):
          var scale: Float = 0
          var fields = ProtobufFieldReader(message)
          while let (field, value) = fields.next() {
            if field == 1, case .fixed32(let bits) = value { scale = Float(bitPattern: bits) }
          }
          guard !fields.isMalformed else { throw Self.malformed("exploration") }
          exploration = scale
        case (4, .varint(let value)): topK = UInt32(truncatingIfNeeded: value)
        case (5, .bytes(let tensor)): matrix = try Matrix(serialized: tensor)
        case (1...5, _): throw Self.malformed("field \(number)")
        default: break  // a field this build does not know
        }
      }
      guard !reader.isMalformed else { throw Self.malformed("the message") }
    }
  }

  private mutating func readCandidate(_ bytes: UnsafeRawBufferPointer) throws {
    var (id, score, embedding, itemLabels) = ("", Float(0), [Float](), [String]())
    var reader = ProtobufFieldReader(bytes)
    while let (number, value) = reader.next() {
      switch (number, value) {
      case (1, .bytes(let text)): id = try Self.string(text, "a candidate id")
      case (2, .fixed32(let bits)): score = Float(bitPattern: bits)
      case (3, .bytes(let packed)):
        guard packed.count % 4 == 0 else { throw Self.malformed("a candidate's embedding") }
        let values = [Float](unsafeUninitializedCapacity: packed.count / 4) { buffer, initialized in
          UnsafeMutableRawBufferPointer(buffer).copyMemory(from: packed)
          initialized = packed.count / 4
        }
        if embedding.isEmpty { embedding = values } else { embedding += values }
      case (3, .fixed32(let bits)): embedding.append(Float(bitPattern: bits))
      case (4, .bytes(let text)): itemLabels.append(try Self.string(text, "a label"))
      case (1...4, _): throw Self.malformed("candidate field \(number)")
      default: break
      }
    }
    guard !reader.isMalformed else { throw Self.malformed("a candidate") }
    ids.append(id)
    modelScores.append(score)
    embeddings.append(embedding)
    labels.append(itemLabels)
  }

  /// An embeddings tensor: its shape and type as sent, its values read as FLOAT32.
  struct Matrix: Equatable {
    var shape: [Int64] = []
    var dtype = Weft_V1_DType.unspecified
    /// The values, when the bytes are whole FLOAT32s (little-endian, the machine's order).
    var values: [Float] = []
    var byteCount = 0

    init(_ tensor: Tensor) {
      (shape, dtype, byteCount) = (tensor.shape, tensor.dtype, tensor.data.count)
      values = (try? tensor.float32Values()) ?? []
    }

    /// Reads an encoded `Tensor` (tensor.proto), copying its data once, into floats.
    init(serialized bytes: UnsafeRawBufferPointer) throws {
      var reader = ProtobufFieldReader(bytes)
      while let (number, value) = reader.next() {
        switch (number, value) {
        case (2, .varint(let type)): dtype = Weft_V1_DType(rawValue: Int(truncatingIfNeeded: type)) ?? .unspecified
        case (3, .varint(let size)): shape.append(Int64(bitPattern: size))
        case (3, .bytes(let packed)):
          var sizes = ProtobufFieldReader.packedVarints(packed)
          while let size = sizes.next() { shape.append(Int64(bitPattern: size)) }
          guard !sizes.isMalformed else { throw PersonalizeInput.malformed("the embeddings' shape") }
        case (4, .bytes(let data)):
          byteCount = data.count
          values = data.count % 4 == 0 ? [Float](unsafeUninitializedCapacity: data.count / 4) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: data)
            initialized = data.count / 4
          } : []
        default: break  // the name, and fields this build does not know
        }
      }
      guard !reader.isMalformed else { throw PersonalizeInput.malformed("embeddings") }
    }
  }

  private static func string(_ bytes: UnsafeRawBufferPointer, _ what: String) throws -> String {
    // Ids are mostly ASCII, which needs no validating.
    if !bytes.contains(where: { $0 >= 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw WeftError(.invalidArgument, "recommender/personalize: \(what) is not valid UTF-8")
    }
    return text
  }

  fileprivate static func malformed(_ what: String) -> WeftError {
    WeftError(.invalidArgument, "recommender/personalize: the request is not a PersonalizeRequest (\(what) is malformed)")
  }
}
