import Foundation
import HTTPTypes

/// An Open Inference Protocol inference request as it came over HTTP: a JSON header,
/// then, with Triton's binary tensor data extension, the tensors' bytes in input order
/// (`Inference-Header-Content-Length` says where the JSON ends).
struct InferRequestBody: Sendable {
  /// The request's `id`, echoed in the response.
  var id: String?
  /// Request-level parameters (`timeout`, `priority`, `binary_data_output`, …).
  var parameters: [String: JSONValue]
  var inputs: [InferTensor]
  /// Each input's own parameters, by input name.
  var inputParameters: [String: [String: JSONValue]]
  /// The outputs asked for, in order; nil: every output the model produces.
  var requestedOutputs: [RequestedOutput]?

  /// An entry of the request's `outputs`.
  struct RequestedOutput: Sendable {
    var name: String
    var parameters: [String: JSONValue]
  }

  /// Parses a request body.
  ///
  /// - Parameter jsonLength: the `Inference-Header-Content-Length` header; nil when the
  ///   whole body is JSON.
  /// - Throws: ``InferenceError`` (400) naming what is malformed.
  init(_ body: Data, jsonLength: Int?) throws {
    let headerLength = jsonLength ?? body.count
    guard headerLength > 0, headerLength <= body.count else {
      throw InferenceError(.badRequest, "Inference-Header-Content-Length is \(headerLength), the body has \(body.count) bytes")
    }
    let wire: WireRequest
    do {
      wire = try JSONDecoder().decode(WireRequest.self, from: body.prefix(headerLength))
    } catch let error as DecodingError {
      throw InferenceError(.badRequest, "malformed inference request: \(Self.explain(error))")
    }
    id = wire.id
    parameters = wire.parameters ?? [:]
    requestedOutputs = wire.outputs?.map { RequestedOutput(name: $0.name, parameters: $0.parameters ?? [:]) }
    var inputParameters: [String: [String: JSONValue]] = [:]
    var offset = body.startIndex + headerLength
    inputs = try wire.inputs.map { input in
      guard let datatype = TensorDatatype(rawValue: input.datatype) else {
        throw InferenceError(.badRequest, "input '\(input.name)': unknown datatype '\(input.datatype)'")
      }
      guard inputParameters.updateValue(input.parameters ?? [:], forKey: input.name) == nil else {
        throw InferenceError(.badRequest, "input '\(input.name)' is given twice")
      }
      if case .integer(let size)? = input.parameters?["binary_data_size"] {
        guard input.data == nil else { throw InferenceError(.badRequest, "input '\(input.name)' has both data and binary_data_size") }
        guard size >= 0, size <= body.endIndex - offset else {
          throw InferenceError(.badRequest, "input '\(input.name)': binary_data_size \(size) runs past the \(body.endIndex - offset) bytes left in the body")
        }
        let bytes = body[offset..<offset + Int(size)]
        offset += Int(size)
        return try InferTensor.binary(name: input.name, datatype: datatype, shape: input.shape, bytes: bytes)
      }
      guard let data = input.data else { throw InferenceError(.badRequest, "input '\(input.name)' has neither data nor binary_data_size") }
      return try InferTensor.json(name: input.name, datatype: datatype, shape: input.shape, data: data)
    }
    guard offset == body.endIndex else {
      throw InferenceError(.badRequest, "\(body.endIndex - offset) bytes follow the JSON that no input's binary_data_size accounts for")
    }
    self.inputParameters = inputParameters
  }

  private static func explain(_ error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
      let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
      return keys.isEmpty ? "" : "\(keys.hasPrefix(".") ? String(keys.dropFirst()) : keys): "
    }
    switch error {
    case .keyNotFound(let key, let context): return "\(path(context))missing '\(key.stringValue)'"
    case .typeMismatch(let type, let context): return "\(path(context))expected \(type)"
    case .valueNotFound(let type, let context): return "\(path(context))expected \(type), got null"
    case .dataCorrupted(let context):
      return context.codingPath.isEmpty ? "not JSON" : "\(path(context))\(context.debugDescription)"
    @unknown default: return "\(error)"
    }
  }

  private struct WireRequest: Decodable {
    var id: String?
    var parameters: [String: JSONValue]?
    var inputs: [WireInput]
    var outputs: [WireOutput]?
  }

  private struct WireInput: Decodable {
    var name: String
    var shape: [Int]
    var datatype: String
    var parameters: [String: JSONValue]?
    var data: JSONValue?
  }

  private struct WireOutput: Decodable {
    var name: String
    var parameters: [String: JSONValue]?
  }
}
