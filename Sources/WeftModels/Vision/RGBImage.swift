import Foundation
import WeftProtocol

/// An 8-bit RGB image, rows top to bottom, pixels interleaved `R G B`.
public struct RGBImage: Sendable, Equatable {
  /// Width in pixels.
  public let width: Int
  /// Height in pixels.
  public let height: Int
  /// `height × width × 3` bytes.
  public let pixels: [UInt8]

  /// Most pixels an image may have, so one request cannot make the worker allocate
  /// gigabytes: 48 megapixels (an 8K × 6K photo) is about 144 MB decoded.
  public static let maxPixels = 48_000_000

  /// Creates an image from interleaved RGB bytes.
  public init(width: Int, height: Int, pixels: [UInt8]) throws {
    try Self.checkSize(width: width, height: height)
    guard pixels.count == width * height * 3 else {
      throw WeftError(.invalidArgument, "a \(width)×\(height) RGB image needs \(width * height * 3) bytes; got \(pixels.count)")
    }
    self.width = width
    self.height = height
    self.pixels = pixels
  }

  /// INVALID_ARGUMENT unless `width × height` is a usable image size.
  static func checkSize(width: Int, height: Int) throws {
    guard width > 0, height > 0 else { throw WeftError(.invalidArgument, "image is \(width)×\(height); it needs pixels") }
    guard width.multipliedReportingOverflow(by: height).partialValue <= maxPixels, width <= maxPixels, height <= maxPixels else {
      throw WeftError(.invalidArgument, "image is \(width)×\(height); at most \(maxPixels) pixels are accepted")
    }
  }
}

extension RGBImage {
  /// Decodes a JPEG or PNG file, told apart by its signature.
  ///
  /// Anything else, or a file that does not decode cleanly (truncated, corrupt, CMYK
  /// JPEG), is INVALID_ARGUMENT naming the problem.
  public init(encoded data: Data) throws {
    if data.starts(with: [0xFF, 0xD8, 0xFF]) {
      self = try JPEGDecoder.decode(data)
    } else if data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
      self = try PNGDecoder.decode(data)
    } else if data.isEmpty {
      throw WeftError(.invalidArgument, "image is empty")
    } else {
      throw WeftError(.invalidArgument, "image is neither JPEG nor PNG (unrecognised signature)")
    }
  }

  /// An image from a `[height, width, 3]` tensor: UINT8, or FLOAT32 on the 0–255 scale
  /// (rounded and clamped).
  public init(tensor: Tensor) throws {
    guard tensor.shape.count == 3, tensor.shape[2] == 3 else {
      throw WeftError(.invalidArgument, "image tensor has shape \(tensor.shape); expected [height, width, 3]")
    }
    let height = Int(tensor.shape[0])
    let width = Int(tensor.shape[1])
    try Self.checkSize(width: width, height: height)
    switch tensor.dtype {
    case .uint8:
      guard tensor.data.count == width * height * 3 else {
        throw WeftError(.invalidArgument, "image tensor has \(tensor.data.count) bytes; shape \(tensor.shape) of UINT8 needs \(width * height * 3)")
      }
      try self.init(width: width, height: height, pixels: [UInt8](tensor.data))
    case .float32:
      let values = try tensor.float32Values()
      try self.init(width: width, height: height, pixels: values.map { UInt8(clamping: Int(($0.isFinite ? $0 : 0).rounded())) })
    default:
      throw WeftError(.invalidArgument, "image tensor is \(tensor.dtype); expected UINT8 or FLOAT32")
    }
  }
}
