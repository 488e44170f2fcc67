import Foundation

/// An Open Inference Protocol inference response: JSON, then the bytes of the outputs
/// sent in binary (Triton's extension), in output order.
struct InferResponseBody {
  /// The whole body.
  var data: Data
  /// Where the JSON ends, for `Inference-Header-Content-Length`; nil when all of it is JSON.
  var jsonLength: Int?

  /// Writes the response; outputs named in `binary` are sent in binary.
  init(model: String, version: String, id: String?, outputs: [InferTensor], binary: Set<String>) throws {
    var json = JSONText(capacity: 512 + outputs.reduce(0) { $0 + (binary.contains($1.name) ? 0 : 12 * $1.elementCount) })
    var binaryTail = Data()
    json.raw("{")
    json.key("model_name")
    json.string(model)
    json.raw(",")
    json.key("model_version")
    json.string(version)
    if let id {
      json.raw(",")
      json.key("id")
      json.string(id)
    }
    json.raw(",")
    json.key("outputs")
    try json.array(outputs) { json, output in
      json.raw("{")
      json.key("name")
      json.string(output.name)
      json.raw(",")
      json.key("datatype")
      json.string(output.datatype.rawValue)
      json.raw(",")
      json.key("shape")
      json.array(output.shape) { $0.integer($1) }
      json.raw(",")
      if binary.contains(output.name) {
        let bytes = output.binaryData
        json.key("parameters")
        json.raw("{")
        json.key("binary_data_size")
        json.integer(bytes.count)
        json.raw("}")
        binaryTail.append(bytes)
      } else {
        json.key("data")
        try output.writeJSONData(to: &json)
      }
      json.raw("}")
    }
    json.raw("}")
    data = Data(json.bytes)
    if binary.isEmpty {
      jsonLength = nil
    } else {
      jsonLength = data.count
      data.append(binaryTail)
    }
  }
}
