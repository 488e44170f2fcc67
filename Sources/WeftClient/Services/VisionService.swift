import Foundation
import SwiftProtobuf
import WeftProtocol

extension WeftClient {
  /// ImageNet classification from the `vision` service: the `topK` most probable
  /// classes of one image, best first.
  ///
  /// - Parameter image: JPEG or PNG file bytes (see ``Weft_V1_Image`` for raw pixels).
  /// - Throws: ``WeftError``; `INVALID_ARGUMENT` for a corrupt or unsupported image.
  public func classify(
    image: Data, topK: Int = 5, includeLogits: Bool = false, resize: Weft_V1_ResizeMode = .centerCrop,
    options: CallOptions = CallOptions()
  ) async throws -> Weft_V1_ClassifyResponse {
    var request = Weft_V1_ClassifyRequest()
    request.image.encoded = image
    request.topK = UInt32(clamping: topK)
    request.includeLogits = includeLogits
    request.resize = resize
    return try await call(VisionService.classify, request, options: options)
  }

  /// The 1280 pooled EfficientNet-Lite0 features of one image (JPEG or PNG bytes).
  public func imageEmbedding(
    image: Data, resize: Weft_V1_ResizeMode = .centerCrop, options: CallOptions = CallOptions()
  ) async throws -> [Float] {
    var request = Weft_V1_ImageEmbedRequest()
    request.image.encoded = image
    request.resize = resize
    return try await call(VisionService.embed, request, options: options).embedding.float32Values()
  }
}
