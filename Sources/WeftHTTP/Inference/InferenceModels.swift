import Foundation
import HTTPTypes
import SwiftProtobuf
import WeftProtocol

/// The mesh methods offered as Open Inference Protocol models (docs/HTTP.md, "Models").
enum InferenceModels {
  static let all: [InferenceModel] = [text, similarity, classify, imageEmbed, speech, echo]

  /// The model a URL names, by name or alias.
  static func named(_ name: String) -> InferenceModel? {
    all.first { $0.name == name || $0.aliases.contains(name) }
  }

  static let text = InferenceModel.protobuf(
    TextService.embed, name: "text", aliases: ["text.embed"],
    inputs: [TensorSpec("text", .bytes, [-1])],
    outputs: [TensorSpec("embedding", .fp32, [-1, 384]), TensorSpec("token_counts", .uint32, [-1])],
    request: { inputs in
      var request = Weft_V1_EmbedRequest()
      request.texts = try inputs.required("text").strings()
      return request
    },
    reply: { reply, _ in
      [try InferTensor("embedding", reply.embeddings), try InferTensor.littleEndian("token_counts", .uint32, reply.tokenCounts)]
    })

  static let similarity = InferenceModel.protobuf(
    TextService.similarity, name: "text.similarity",
    inputs: [TensorSpec("query", .bytes, [1]), TensorSpec("candidates", .bytes, [-1])],
    outputs: [TensorSpec("scores", .fp32, [-1])] + personalizedOutputs,
    request: { inputs in
      var request = Weft_V1_SimilarityRequest()
      request.query = try inputs.required("query").strings()[0]
      request.candidates = try inputs.required("candidates").strings()
      return request
    },
    reply: { reply, _ in
      [try InferTensor("scores", reply.scores)] + (reply.hasPersonalized ? try personalized(reply.personalized) : [])
    })

  static let classify = InferenceModel.protobuf(
    VisionService.classify, name: "vision", aliases: ["vision.classify"],
    inputs: [imageInput],
    outputs: [
      TensorSpec("labels", .bytes, [-1]), TensorSpec("indices", .int32, [-1]), TensorSpec("probabilities", .fp32, [-1]),
      TensorSpec("logits", .fp32, [1000]),
    ] + personalizedOutputs,
    request: { inputs in
      var request = Weft_V1_ClassifyRequest()
      request.image = try image(inputs)
      request.topK = UInt32(try inputs.integer("top_k", in: 1...1000, default: 5))
      request.includeLogits = try inputs.flag("include_logits") || (inputs.requestedOutputs?.contains("logits") ?? false)
      request.resize = try resize(inputs)
      return request
    },
    reply: { reply, _ in
      var outputs = [
        InferTensor("labels", elements: reply.top.map { Data($0.label.utf8) }),
        try InferTensor.littleEndian("indices", .int32, reply.top.map { Int32(clamping: $0.index) }),
        try InferTensor.littleEndian("probabilities", .fp32, reply.top.map(\.probability.bitPattern)),
      ]
      if reply.hasLogits { outputs.append(try InferTensor("logits", reply.logits)) }
      return outputs + (reply.hasPersonalized ? try personalized(reply.personalized) : [])
    })

  static let imageEmbed = InferenceModel.protobuf(
    VisionService.embed, name: "vision.embed",
    inputs: [imageInput],
    outputs: [TensorSpec("embedding", .fp32, [1280])],
    request: { inputs in
      var request = Weft_V1_ImageEmbedRequest()
      request.image = try image(inputs)
      request.resize = try resize(inputs)
      return request
    },
    reply: { reply, _ in [try InferTensor("embedding", reply.embedding)] })

  static let speech = InferenceModel.protobuf(
    SpeechService.detect, name: "speech", aliases: ["speech.detect"],
    inputs: [TensorSpec("audio", .bytes, [1], or: [.init(datatype: .fp32, shape: [-1])])],
    outputs: [TensorSpec("segments", .fp64, [-1, 2]), TensorSpec("probabilities", .fp32, [-1]), TensorSpec("duration", .fp64, [1])],
    request: { inputs in
      var request = Weft_V1_DetectRequest()
      let audio = try inputs.required("audio")
      if audio.datatype == .bytes {
        request.audio.wav = audio.byteElements[0]
      } else {
        request.audio.samples = try Tensor(audio)
        request.audio.sampleRate = UInt32(try inputs.integer("sample_rate", input: "audio", in: 1...384_000, default: 0))
        guard request.audio.sampleRate > 0 else {
          throw InferenceError(.badRequest, "FP32 audio needs parameter 'sample_rate' (Hz), on the input or the request")
        }
      }
      request.omitProbabilities = !inputs.wants("probabilities")
      return request
    },
    reply: { reply, _ in
      [
        try InferTensor.littleEndian("segments", .fp64, reply.segments.flatMap { [$0.start.bitPattern, $0.end.bitPattern] }, shape: [reply.segments.count, 2]),
        try InferTensor("probabilities", reply.probabilities),
        try InferTensor.littleEndian("duration", .fp64, [reply.duration.bitPattern]),
      ]
    })

  static let echo = InferenceModel(
    name: EchoService.name, aliases: ["echo.echo"], service: EchoService.name, method: EchoService.echo.name,
    inputs: [TensorSpec("input", .bytes, [-1])], outputs: [TensorSpec("output", .bytes, [-1])],
    request: { inputs in try inputs.required("input").byteElements },
    reply: { frames, _ in [InferTensor("output", elements: frames)] })

  // MARK: Shared parts

  private static let imageInput = TensorSpec("image", .bytes, [1], or: [.init(datatype: .uint8, shape: [-1, -1, 3])])

  private static let personalizedOutputs = [
    TensorSpec("personalized_ids", .bytes, [-1]), TensorSpec("personalized_scores", .fp32, [-1]),
  ]

  private static func image(_ inputs: ModelInputs) throws -> Weft_V1_Image {
    let tensor = try inputs.required("image")
    var image = Weft_V1_Image()
    if tensor.datatype == .bytes {
      image.encoded = tensor.byteElements[0]
    } else {
      image.rgb = try Tensor(tensor)
    }
    return image
  }

  private static func resize(_ inputs: ModelInputs) throws -> Weft_V1_ResizeMode {
    try inputs.choice("resize", ["center_crop", "stretch"], default: "center_crop") == "stretch" ? .stretch : .centerCrop
  }

  private static func personalized(_ ranked: Weft_V1_RankedItems) throws -> [InferTensor] {
    [
      InferTensor("personalized_ids", elements: ranked.items.map { Data($0.id.utf8) }),
      try InferTensor.littleEndian("personalized_scores", .fp32, ranked.items.map(\.score.bitPattern)),
    ]
  }
}

extension InferenceModel {
  /// A model over a unary protobuf method: `request` builds its message, `reply` reads its answer.
  static func protobuf<Request, Reply>(
    _ method: ServiceMethod<Request, Reply>, name: String, aliases: [String] = [], inputs: [TensorSpec], outputs: [TensorSpec],
    request: @escaping @Sendable (ModelInputs) throws -> Request, reply: @escaping @Sendable (Reply, ModelInputs) throws -> [InferTensor]
  ) -> InferenceModel {
    InferenceModel(
      name: name, aliases: aliases, service: method.service, method: method.name, inputs: inputs, outputs: outputs,
      request: { inputs in [try request(inputs).serializedData()] },
      reply: { frames, inputs in
        guard let body = frames.first, let message = try? Reply(serializedBytes: body) else {
          throw InferenceError(.internalServerError, "\(method.service)/\(method.name) replied without a \(Reply.protoMessageName)")
        }
        return try reply(message, inputs)
      })
  }
}

extension ModelInputs {
  /// An input the model's specs require (checked present by ``InferenceModel/inputs(of:)``).
  func required(_ name: String) throws -> InferTensor {
    guard let tensor = tensors[name] else { throw InferenceError(.badRequest, "input '\(name)' is missing") }
    return tensor
  }
}

extension InferTensor {
  /// An output from a Weft tensor of the reply.
  init(_ name: String, _ tensor: Tensor) throws {
    guard let datatype = Self.weftDTypes.first(where: { $0.value == tensor.dtype })?.key else {
      throw InferenceError(.internalServerError, "output '\(name)': the reply's tensor has no datatype")
    }
    try self.init(name, datatype, shape: tensor.shape.map { Int(clamping: $0) }, data: tensor.data)
  }

  /// The OIP datatypes a Weft `Tensor` carries, and its name for each.
  static let weftDTypes: [TensorDatatype: Weft_V1_DType] = [.fp32: .float32, .fp16: .float16, .int64: .int64, .int32: .int32, .uint8: .uint8, .int8: .int8]

  /// An output of fixed-size `values` (bit patterns for floats), one dimension unless `shape` says.
  static func littleEndian<T: FixedWidthInteger>(_ name: String, _ datatype: TensorDatatype, _ values: [T], shape: [Int]? = nil) throws -> InferTensor {
    var data = Data(capacity: values.count * MemoryLayout<T>.size)
    for value in values { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
    return try InferTensor(name, datatype, shape: shape ?? [values.count], data: data)
  }
}

extension Tensor {
  /// A fixed-size input as the Weft tensor a request carries, shape and bytes as they are.
  init(_ tensor: InferTensor) throws {
    guard let dtype = InferTensor.weftDTypes[tensor.datatype] else {
      throw InferenceError(.badRequest, "input '\(tensor.name)': \(tensor.datatype.rawValue) has no Weft tensor form")
    }
    self.init()
    self.dtype = dtype
    shape = tensor.shape.map(Int64.init)
    data = tensor.fixedBytes
  }
}
