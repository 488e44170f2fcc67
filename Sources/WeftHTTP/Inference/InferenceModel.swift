import Foundation
import HTTPTypes

/// A mesh method offered as an Open Inference Protocol model: its tensors, and how they
/// become the method's protobuf request and come back from its reply.
struct InferenceModel: Sendable {
  /// The model's name in URLs; `service` for a service's main method, else `service.method`.
  let name: String
  /// Other names it answers to (`text.embed` for `text`).
  let aliases: [String]
  let service: String
  let method: String
  let inputs: [TensorSpec]
  let outputs: [TensorSpec]
  /// The body frames of the mesh call.
  let request: @Sendable (ModelInputs) throws -> [Data]
  /// The outputs of a reply's body frames (all the reply has; the caller picks).
  let reply: @Sendable ([Data], ModelInputs) throws -> [InferTensor]

  /// The metadata endpoint's answer, without versions.
  var metadata: [String: Any] {
    ["name": name, "platform": "weft", "inputs": inputs.map(\.metadata), "outputs": outputs.map(\.metadata)]
  }

  /// Checks `request`'s inputs against the model's and gathers them with the parameters.
  func inputs(of request: InferRequestBody) throws -> ModelInputs {
    var byName: [String: InferTensor] = [:]
    for tensor in request.inputs {
      guard let spec = inputs.first(where: { $0.name == tensor.name }) else {
        throw InferenceError(.badRequest, "model '\(name)' has no input '\(tensor.name)'; its inputs: \(inputs.map(\.name).joined(separator: ", "))")
      }
      try spec.check(tensor, model: name)
      byName[tensor.name] = tensor
    }
    for spec in inputs where byName[spec.name] == nil {
      throw InferenceError(.badRequest, "model '\(name)' needs input '\(spec.name)' (\(spec.forms.map(\.description).joined(separator: " or ")))")
    }
    if let requested = request.requestedOutputs {
      for output in requested where !outputs.contains(where: { $0.name == output.name }) {
        throw InferenceError(.badRequest, "model '\(name)' has no output '\(output.name)'; its outputs: \(outputs.map(\.name).joined(separator: ", "))")
      }
    }
    return ModelInputs(
      tensors: byName, parameters: request.parameters, inputParameters: request.inputParameters,
      requestedOutputs: request.requestedOutputs.map { Set($0.map(\.name)) })
  }
}

/// What a model's input or output may be: its name and the datatype and shape pairs it
/// accepts (-1: any size); the first pair is the one metadata lists. Every input is required.
struct TensorSpec: Sendable {
  let name: String
  let forms: [Form]

  struct Form: Sendable, CustomStringConvertible {
    let datatype: TensorDatatype
    let shape: [Int]
    var description: String { "\(datatype.rawValue) \(shape)" }
  }

  init(_ name: String, _ datatype: TensorDatatype, _ shape: [Int], or others: [Form] = []) {
    self.name = name
    forms = [Form(datatype: datatype, shape: shape)] + others
  }

  var metadata: [String: Any] { ["name": name, "datatype": forms[0].datatype.rawValue, "shape": forms[0].shape] }

  func check(_ tensor: InferTensor, model: String) throws {
    let sameType = forms.filter { $0.datatype == tensor.datatype }
    guard !sameType.isEmpty else {
      throw InferenceError(.badRequest, "input '\(name)' of model '\(model)' is \(tensor.datatype.rawValue); it takes \(forms.map(\.datatype.rawValue).joined(separator: " or "))")
    }
    let fits = sameType.contains { form in
      form.shape.count == tensor.shape.count && zip(form.shape, tensor.shape).allSatisfy { $0 == -1 || $0 == $1 }
    }
    guard fits else {
      throw InferenceError(.badRequest, "input '\(name)' of model '\(model)' has shape \(tensor.shape); it takes \(sameType.map(\.description).joined(separator: " or "))")
    }
  }
}

/// A request's checked inputs and parameters, for a model's request and reply functions.
struct ModelInputs: Sendable {
  let tensors: [String: InferTensor]
  let parameters: [String: JSONValue]
  let inputParameters: [String: [String: JSONValue]]
  /// The outputs asked for; nil: all.
  let requestedOutputs: Set<String>?

  /// Whether the caller asked for `output` (or for every output).
  func wants(_ output: String) -> Bool { requestedOutputs?.contains(output) ?? true }

  /// An integer parameter, from the input's parameters or the request's.
  func integer(_ key: String, input: String? = nil, in range: ClosedRange<Int>, default value: Int) throws -> Int {
    guard let given = parameter(key, input: input) else { return value }
    guard case .integer(let number) = given, let exact = Int(exactly: number), range.contains(exact) else {
      throw InferenceError(.badRequest, "parameter '\(key)' must be an integer from \(range.lowerBound) to \(range.upperBound), got \(given.summary)")
    }
    return exact
  }

  /// A boolean parameter.
  func flag(_ key: String, default value: Bool = false) throws -> Bool {
    guard let given = parameter(key, input: nil) else { return value }
    guard case .bool(let flag) = given else { throw InferenceError(.badRequest, "parameter '\(key)' must be true or false, got \(given.summary)") }
    return flag
  }

  /// A parameter that names one of `choices`.
  func choice(_ key: String, _ choices: [String], default value: String) throws -> String {
    guard let given = parameter(key, input: nil) else { return value }
    guard case .string(let text) = given, choices.contains(text) else {
      throw InferenceError(.badRequest, "parameter '\(key)' must be one of \(choices.joined(separator: ", ")), got \(given.summary)")
    }
    return text
  }

  private func parameter(_ key: String, input: String?) -> JSONValue? {
    input.flatMap { inputParameters[$0]?[key] } ?? parameters[key]
  }
}
