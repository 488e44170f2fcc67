import CPNG
import CTurboJPEG
import Foundation
import WeftProtocol

/// JPEG decoding through libjpeg-turbo's TurboJPEG API.
enum JPEGDecoder {
  static func decode(_ data: Data) throws -> RGBImage {
    guard let handle = tjInitDecompress() else { throw WeftError(.internal, "cannot start the JPEG decoder") }
    defer { tjDestroy(handle) }
    return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
      let bytes = raw.bindMemory(to: UInt8.self).baseAddress!
      let size = UInt(raw.count)
      var width: Int32 = 0
      var height: Int32 = 0
      var subsampling: Int32 = 0
      var colorspace: Int32 = 0
      guard tjDecompressHeader3(handle, bytes, size, &width, &height, &subsampling, &colorspace) == 0 else {
        throw WeftError(.invalidArgument, "corrupt JPEG: \(errorText(handle))")
      }
      guard colorspace != Int32(TJCS_CMYK.rawValue), colorspace != Int32(TJCS_YCCK.rawValue) else {
        throw WeftError(.invalidArgument, "CMYK JPEG is not supported; convert it to RGB")
      }
      try RGBImage.checkSize(width: Int(width), height: Int(height))
      var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * 3)
      // Stop on warnings too: a truncated file otherwise "decodes" with grey rows.
      let status = pixels.withUnsafeMutableBufferPointer { out in
        tjDecompress2(handle, bytes, size, out.baseAddress, width, 0, height, Int32(TJPF_RGB.rawValue), TJFLAG_STOPONWARNING)
      }
      guard status == 0 else { throw WeftError(.invalidArgument, "corrupt JPEG: \(errorText(handle))") }
      return try RGBImage(width: Int(width), height: Int(height), pixels: pixels)
    }
  }

  private static func errorText(_ handle: tjhandle) -> String {
    guard let text = tjGetErrorStr2(handle) else { return "unknown error" }
    return String(cString: text)
  }
}

/// PNG decoding through libpng's simplified API.
enum PNGDecoder {
  static func decode(_ data: Data) throws -> RGBImage {
    var image = png_image()
    image.version = UInt32(PNG_IMAGE_VERSION)
    defer { png_image_free(&image) }
    return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
      guard png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count) != 0 else {
        throw WeftError(.invalidArgument, "corrupt PNG: \(message(of: &image))")
      }
      let width = Int(image.width)
      let height = Int(image.height)
      try RGBImage.checkSize(width: width, height: height)
      // Read RGBA and drop the alpha channel, as most imaging libraries' RGB conversion
      // does, rather than compositing onto a colour the user did not choose.
      image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
      var rgba = [UInt8](repeating: 0, count: width * height * 4)
      let finished = rgba.withUnsafeMutableBytes { out in png_image_finish_read(&image, nil, out.baseAddress, 0, nil) }
      guard finished != 0 else { throw WeftError(.invalidArgument, "corrupt PNG: \(message(of: &image))") }
      var pixels = [UInt8](repeating: 0, count: width * height * 3)
      for pixel in 0..<(width * height) {
        pixels[pixel * 3] = rgba[pixel * 4]
        pixels[pixel * 3 + 1] = rgba[pixel * 4 + 1]
        pixels[pixel * 3 + 2] = rgba[pixel * 4 + 2]
      }
      return try RGBImage(width: width, height: height, pixels: pixels)
    }
  }

  private static func message(of image: inout png_image) -> String {
    withUnsafeBytes(of: &image.message) { raw in
      let text = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      return text.isEmpty ? "unknown error" : text
    }
  }
}
