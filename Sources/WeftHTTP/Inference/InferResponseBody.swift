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
    var binaryTail = Data()
    let described = try outputs.map { output -> [String: Any] in
      var entry: [String: Any] = ["name": output.name, "datatype": output.datatype.rawValue, "shape": output.shape]
      if binary.contains(output.name) {
        let bytes = output.binaryData
        entry["parameters"] = ["binary_data_size": bytes.count]
        binaryTail.append(bytes)
      } else {
        entry["data"] = try output.jsonData()
      }
      return entry
    }
    var header: [String: Any] = ["model_name": model, "model_version": version, "outputs": described]
    if let id { header["id"] = id }
    data = try JSONSerialization.data(withJSONObject: header)
    if binary.isEmpty {
      jsonLength = nil
    } else {
      jsonLength = data.count
      data.append(binaryTail)
    }
  }
}
