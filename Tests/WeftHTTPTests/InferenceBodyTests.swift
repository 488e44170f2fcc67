import Foundation
import Testing

@testable import WeftHTTP

/// The Open Inference Protocol's request and response bodies, JSON and binary, in
/// process: what the integration tests cannot reach byte by byte.
struct InferenceBodyTests {
  /// A JSON header followed by `binary`, as tritonclient sends it.
  private func body(_ json: String, _ binary: [UInt8] = []) -> (Data, Int?) {
    let header = Data(json.utf8)
    return (header + Data(binary), binary.isEmpty ? nil : header.count)
  }

  private func lengthPrefixed(_ elements: [String]) -> [UInt8] {
    elements.flatMap { element -> [UInt8] in
      let bytes = Array(element.utf8)
      return withUnsafeBytes(of: UInt32(bytes.count).littleEndian, Array.init) + bytes
    }
  }

  @Test func binaryInputsAreTakenInInputOrder() throws {
    let text = lengthPrefixed(["a cat", "", "ünï"])
    let floats: [Float] = [1.5, -2, 0.25]
    let floatBytes = floats.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
    let (data, length) = body(
      #"{"id":"7","inputs":[{"name":"t","datatype":"BYTES","shape":[3],"parameters":{"binary_data_size":\#(text.count)}},"#
        + #"{"name":"f","datatype":"FP32","shape":[1,3],"parameters":{"binary_data_size":12}}]}"#, text + floatBytes)
    let request = try InferRequestBody(data, jsonLength: length)
    #expect(request.id == "7")
    #expect(try request.inputs[0].strings() == ["a cat", "", "ünï"])
    #expect(request.inputs[1].shape == [1, 3] && request.inputs[1].fixedBytes == Data(floatBytes))
  }

  @Test func jsonDataMayBeNestedAndKeepsItsTypes() throws {
    let (data, _) = body(#"{"inputs":[{"name":"x","datatype":"INT64","shape":[2,2],"data":[[1,2],[3,-9007199254740993]]}]}"#)
    let tensor = try InferRequestBody(data, jsonLength: nil).inputs[0]
    let values = tensor.fixedBytes.withUnsafeBytes { raw in (0..<4).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) } }
    #expect(values == [1, 2, 3, -9_007_199_254_740_993], "integers beyond a Double's 53 bits arrive exactly")
  }

  @Test(arguments: [
    (#"{"inputs":[{"name":"x","datatype":"BOOL","shape":[1],"data":[1]}]}"#, "1 is not a BOOL value"),
    (#"{"inputs":[{"name":"x","datatype":"UINT8","shape":[1],"data":[true]}]}"#, "true is not a UINT8 value"),
    (#"{"inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":[1.5]}]}"#, "1.5 is not a INT32 value"),
    (#"{"inputs":[{"name":"x","datatype":"INT8","shape":[1],"data":[200]}]}"#, "200 is not a INT8 value"),
    (#"{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"data":[5]}]}"#, "5 is not a BYTES value"),
    (#"{"inputs":[{"name":"x","datatype":"FP32","shape":[-1],"data":[]}]}"#, "negative dimension"),
    (#"{"inputs":[{"name":"x","datatype":"FP32","shape":[4294967296,4294967296],"data":[]}]}"#, "too large"),
    (#"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]},{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}"#, "given twice"),
    (#"{"inputs":[{"name":"x","datatype":"FP32","shape":[1]}]}"#, "neither data nor binary_data_size"),
    (#"{"inputs":[{"name":"x","shape":[1],"data":[1]}]}"#, "missing 'datatype'"),
    (#"[1,2]"#, "malformed inference request"),
  ])
  func malformedJSONIsRefusedWithItsReason(json: String, reason: String) {
    let (data, _) = body(json)
    #expect {
      _ = try InferRequestBody(data, jsonLength: nil)
    } throws: { error in
      (error as? InferenceError).map { $0.description.hasPrefix("400: ") && $0.message.contains(reason) } ?? false
    }
  }

  @Test func binaryDataThatDoesNotFitIsRefused() {
    let cases: [(json: String, binary: [UInt8], reason: String)] = [
      (#"{"inputs":[{"name":"t","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":3}}]}"#, [5, 0, 0], "inside a length prefix"),
      (#"{"inputs":[{"name":"t","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":6}}]}"#, [9, 0, 0, 0, 65, 66], "runs past the binary data"),
      (#"{"inputs":[{"name":"t","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":5}}]}"#, [1, 0, 0, 0, 65], "1 BYTES elements"),
      (#"{"inputs":[{"name":"f","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":4}}]}"#, [0, 0, 0, 0], "needs 8"),
      (#"{"inputs":[{"name":"f","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}"#, [0, 0, 0, 0, 1], "1 bytes follow"),
    ]
    for (json, binary, reason) in cases {
      let (data, length) = body(json, binary)
      #expect(throws: InferenceError.self, "\(reason)") { try InferRequestBody(data, jsonLength: length) }
      do {
        _ = try InferRequestBody(data, jsonLength: length)
      } catch let error as InferenceError {
        #expect(error.message.contains(reason), "\(error.message)")
      } catch {}
    }
  }

  @Test func responsesPutBinaryOutputsAfterTheJSON() throws {
    let labels = InferTensor("labels", elements: [Data("cat".utf8), Data("dog".utf8)])
    let scores = try InferTensor.littleEndian("scores", .fp32, [Float(0.5).bitPattern, Float(0.25).bitPattern])
    let response = try InferResponseBody(model: "m", version: "1", id: "r", outputs: [labels, scores], binary: ["scores"])
    let length = try #require(response.jsonLength)
    let header = try #require(try JSONSerialization.jsonObject(with: response.data.prefix(length)) as? [String: Any])
    #expect(header["model_name"] as? String == "m" && header["model_version"] as? String == "1" && header["id"] as? String == "r")
    let outputs = try #require(header["outputs"] as? [[String: Any]])
    #expect(outputs[0]["data"] as? [String] == ["cat", "dog"])
    #expect((outputs[1]["parameters"] as? [String: Any])?["binary_data_size"] as? Int == 8)
    #expect(Array(response.data.dropFirst(length)) == [0, 0, 0, 0x3f, 0, 0, 0x80, 0x3e])

    let allJSON = try InferResponseBody(model: "m", version: "1", id: nil, outputs: [scores], binary: [])
    #expect(allJSON.jsonLength == nil)
    let values = (try JSONSerialization.jsonObject(with: allJSON.data) as? [String: Any]).flatMap { ($0["outputs"] as? [[String: Any]])?.first?["data"] as? [Double] }
    #expect(values == [0.5, 0.25])
  }

  @Test func jsonOutputsReadBackExactly() throws {
    let tricky = "quote \" backslash \\ newline \n tab \t bell \u{07} ünï 🍕"
    let floats: [Float] = [0.1, -3.4028235e38, 1.1754944e-38, 7, .nan]
    let outputs = [
      InferTensor("text", elements: [Data(tricky.utf8)]),
      try InferTensor.littleEndian("f", .fp32, floats.map(\.bitPattern)),
      try InferTensor.littleEndian("i", .int64, [Int64.min, 0, Int64.max]),
    ]
    let response = try InferResponseBody(model: "m\"", version: "1", id: "a\nb", outputs: outputs, binary: [])
    let header = try #require(try JSONSerialization.jsonObject(with: response.data) as? [String: Any])
    #expect(header["model_name"] as? String == "m\"" && header["id"] as? String == "a\nb")
    let data = try #require(header["outputs"] as? [[String: Any]]).map { $0["data"] as? [Any] ?? [] }
    #expect(data[0] as? [String] == [tricky])
    let read = data[1].map { ($0 as? NSNumber).map { Float($0.doubleValue) } }
    #expect(Array(read.prefix(4)) == floats.prefix(4).map(Optional.some), "each float reads back as itself")
    #expect(data[1][4] is NSNull, "NaN has no JSON form: null")
    #expect(data[2].compactMap { ($0 as? NSNumber)?.int64Value } == [Int64.min, 0, Int64.max])
  }

  @Test func bytesThatAreNotTextMustBeAskedForInBinary() {
    let output = InferTensor("output", elements: [Data([0xff, 0xfe])])
    #expect(throws: InferenceError.self) { try InferResponseBody(model: "echo", version: "1", id: nil, outputs: [output], binary: []) }
    #expect(throws: Never.self) { try InferResponseBody(model: "echo", version: "1", id: nil, outputs: [output], binary: ["output"]) }
  }

  @Test func modelSpecsCheckDatatypeShapeAndNames() throws {
    let model = InferenceModels.classify
    func inputs(_ json: String) throws -> ModelInputs { try model.inputs(of: InferRequestBody(Data(json.utf8), jsonLength: nil)) }
    #expect(throws: Never.self) { try inputs(#"{"inputs":[{"name":"image","datatype":"UINT8","shape":[1,1,3],"data":[1,2,3]}]}"#) }
    #expect(throws: InferenceError.self) { try inputs(#"{"inputs":[{"name":"image","datatype":"UINT8","shape":[1,3],"data":[1,2,3]}]}"#) }
    #expect(throws: InferenceError.self) { try inputs(#"{"inputs":[{"name":"image","datatype":"FP32","shape":[1],"data":[1]}]}"#) }
    #expect(throws: InferenceError.self) { try inputs(#"{"inputs":[]}"#) }
    let logits = try inputs(#"{"inputs":[{"name":"image","datatype":"UINT8","shape":[1,1,3],"data":[1,2,3]}],"outputs":[{"name":"logits"}],"parameters":{"top_k":3}}"#)
    let request = try model.request(logits)
    #expect(!request.isEmpty)
    #expect(InferenceModels.named("vision.classify")?.name == "vision" && InferenceModels.named("vision.nothing") == nil)
  }
}
