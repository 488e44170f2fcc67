import WeftProtocol

/// Turns a decoded image into EfficientNet-Lite0's input: 224 × 224 × 3 floats,
/// each channel mapped by (x − 127) / 128.
///
/// An image that is already 224 × 224 is taken as is (no resampling at all). Any other
/// is resized with ``ImageResampler``'s antialiased bilinear filter, either from its
/// central square of 87.5% of the shorter side (EfficientNet's evaluation crop) or, when
/// stretching, from the whole image.
public enum ImagePreprocessor {
  /// How an image of another size is brought to 224 × 224.
  public enum Fit: Sendable {
    case centerCrop
    case stretch
  }

  /// EfficientNet's evaluation crop: 224 of 256.
  public static let cropFraction = 0.875

  /// The normalised model input for `image`.
  public static func modelInput(_ image: RGBImage, fit: Fit) -> [Float] {
    let side = EfficientNetLite0.inputSize
    let pixels: [Float]
    if image.width == side, image.height == side {
      pixels = image.pixels.map(Float.init)
    } else {
      let region: ImageResampler.Region =
        switch fit {
        case .centerCrop: .centerSquare(of: image, fraction: cropFraction)
        case .stretch: .whole(image)
        }
      pixels = ImageResampler.resample(image, region: region, width: side, height: side)
    }
    return pixels.map { ($0 - 127) / 128 }
  }
}

extension ImagePreprocessor.Fit {
  /// The fit a request asked for.
  init(_ mode: Weft_V1_ResizeMode) {
    self = mode == .stretch ? .stretch : .centerCrop
  }
}
