import CPNG
import CShims
import Foundation
import RiadTensor

/// PNG files through libpng's simplified `png_image` API (no setjmp).
///
/// Every format reads: 8- and 16-bit; gray, gray+alpha, RGB, RGBA and
/// palette (expanded to RGB or RGBA). 8-bit files read as sRGB bytes and
/// 16-bit files as their 16-bit values, so both round-trip exactly.
public enum PNG {
  // png.h format flags (the macros are not imported into Swift).
  static let alpha: UInt32 = 0x01, color: UInt32 = 0x02, linear: UInt32 = 0x04, colormap: UInt32 = 0x08

  public struct Image {
    public let width: Int, height: Int, channels: Int, bitDepth: Int
    /// Samples in [0, 1], `[channels, height, width]`.
    public let tensor: Tensor
  }

  static func message(_ image: inout png_image) -> String {
    withUnsafeBytes(of: &image.message) { raw in
      String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
  }

  /// Reads a PNG file into a `[C,H,W]` tensor in [0,1]; C counts every
  /// channel of the file (alpha included).
  public static func read(_ path: String) throws -> Image {
    guard FileManager.default.fileExists(atPath: path) else {
      throw TensorError("cannot read image '\(path)': no such file")
    }
    var image = png_image()
    image.version = UInt32(PNG_IMAGE_VERSION)
    guard png_image_begin_read_from_file(&image, path) != 0 else {
      let m = message(&image)
      png_image_free(&image)
      throw TensorError("cannot read image '\(path)': not a valid PNG file (\(m))")
    }
    var format = image.format & ~colormap
    let sixteen = format & linear != 0
    let channels = (format & color != 0 ? 3 : 1) + (format & alpha != 0 ? 1 : 0)
    if sixteen && format & alpha != 0 {
      png_image_free(&image)
      return try readSixteenWithAlpha(path)
    }
    format = (format & (color | alpha)) | (sixteen ? linear : 0)
    image.format = format
    let (w, h) = (Int(image.width), Int(image.height))
    let count = w * h * channels
    var values = [Float](repeating: 0, count: count)
    let ok: Bool
    if sixteen {
      var buffer = [UInt16](repeating: 0, count: count)
      ok = buffer.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) } != 0
      for i in 0..<count { values[i] = Float(buffer[i]) / 65535 }
    } else {
      var buffer = [UInt8](repeating: 0, count: count)
      ok = buffer.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) } != 0
      for i in 0..<count { values[i] = Float(buffer[i]) / 255 }
    }
    guard ok else {
      let m = message(&image)
      png_image_free(&image)
      throw TensorError("cannot read image '\(path)': the PNG data is corrupt or truncated (\(m))")
    }
    // interleaved HWC → planar CHW
    var planar = [Float](repeating: 0, count: count)
    for c in 0..<channels { for p in 0..<(w * h) { planar[c * w * h + p] = values[p * channels + c] } }
    return Image(width: w, height: h, channels: channels, bitDepth: sixteen ? 16 : 8,
                 tensor: Tensor(shape: [channels, h, w], data: planar))
  }

  /// 16-bit gray+alpha and RGBA: the simplified API would premultiply the
  /// colour by alpha, so these go through the classic API in CShims.
  static func readSixteenWithAlpha(_ path: String) throws -> Image {
    var samples: UnsafeMutablePointer<UInt16>? = nil
    var w: Int32 = 0, h: Int32 = 0, c: Int32 = 0
    var error = [CChar](repeating: 0, count: 200)
    guard riad_png_read16(path, &samples, &w, &h, &c, &error, 200) == 0, let samples else {
      throw TensorError("cannot read image '\(path)': the PNG data is corrupt or truncated (\(String(cString: error)))")
    }
    defer { free(samples) }
    let (width, height, channels) = (Int(w), Int(h), Int(c))
    var planar = [Float](repeating: 0, count: width * height * channels)
    for ch in 0..<channels { for p in 0..<(width * height) { planar[ch * width * height + p] = Float(samples[p * channels + ch]) / 65535 } }
    return Image(width: width, height: height, channels: channels, bitDepth: 16,
                 tensor: Tensor(shape: [channels, height, width], data: planar))
  }

  /// Writes `[C,H,W]` (C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) or `[H,W]`,
  /// clamped to [0,1], as an 8- or 16-bit PNG. Writes a temporary file and
  /// renames it, so an existing file is never left half-written.
  public static func write(_ t: Tensor, to path: String, bitDepth: Int = 8) throws {
    let chw: Tensor = t.rank == 2 ? try t.reshaped([1] + t.shape) : t
    guard chw.rank == 3, (1...4).contains(chw.shape[0]), chw.shape[1] > 0, chw.shape[2] > 0 else {
      throw TensorError("save_image: expected an image [C,H,W] with C = 1 to 4 or a map [H,W], got \(t.shape.shapeString)")
    }
    guard bitDepth == 8 || bitDepth == 16 else { throw TensorError("save_image: bits must be 8 or 16, got \(bitDepth)") }
    let (c, h, w) = (chw.shape[0], chw.shape[1], chw.shape[2])
    var image = png_image()
    image.version = UInt32(PNG_IMAGE_VERSION)
    image.width = UInt32(w)
    image.height = UInt32(h)
    image.format = (c >= 3 ? color : 0) | (c == 2 || c == 4 ? alpha : 0) | (bitDepth == 16 ? linear : 0)
    let url = URL(fileURLWithPath: path)
    let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
    let scale: Float = bitDepth == 16 ? 65535 : 255
    var interleaved = [Float](repeating: 0, count: c * h * w)
    for ch in 0..<c { for p in 0..<(w * h) {
      let v = chw.data[ch * w * h + p]
      interleaved[p * c + ch] = (v.isNaN ? 0 : Swift.min(Swift.max(v, 0), 1)) * scale
    } }
    let ok: Bool
    var error = [CChar](repeating: 0, count: 200)
    if bitDepth == 16 && c % 2 == 0 {
      // With alpha: the classic API, so the samples are stored unchanged (see read).
      let buffer = interleaved.map { UInt16($0.rounded()) }
      ok = riad_png_write16(tmp, buffer, Int32(w), Int32(h), Int32(c), &error, 200) == 0
    } else if bitDepth == 16 {
      let buffer = interleaved.map { UInt16($0.rounded()) }
      ok = buffer.withUnsafeBytes { png_image_write_to_file(&image, tmp, 0, $0.baseAddress, 0, nil) } != 0
    } else {
      let buffer = interleaved.map { UInt8($0.rounded()) }
      ok = buffer.withUnsafeBytes { png_image_write_to_file(&image, tmp, 0, $0.baseAddress, 0, nil) } != 0
    }
    guard ok else {
      let m = error[0] != 0 ? String(cString: error) : message(&image)
      png_image_free(&image)
      unlink(tmp)
      throw TensorError("cannot write image '\(path)': \(m.isEmpty ? "the folder does not exist or is not writable" : m)")
    }
    guard rename(tmp, path) == 0 else {
      let reason = String(cString: strerror(errno))
      unlink(tmp)
      throw TensorError("cannot write image '\(path)': \(reason)")
    }
  }
}

extension PNG {
  /// An 8-bit RGB PNG of `image`, in memory (for the kitty and iTerm2
  /// protocols, HTML and notebooks).
  public static func encode(_ image: RGBImage) throws -> [UInt8] {
    var png = png_image()
    png.version = UInt32(PNG_IMAGE_VERSION)
    png.width = UInt32(image.width)
    png.height = UInt32(image.height)
    png.format = color
    var size: png_alloc_size_t = 0
    let ok1 = image.pixels.withUnsafeBytes { png_image_write_to_memory(&png, nil, &size, 0, $0.baseAddress, 0, nil) } != 0
    guard ok1, size > 0 else {
      let m = message(&png)
      png_image_free(&png)
      throw TensorError("show: cannot encode a PNG (\(m))")
    }
    var bytes = [UInt8](repeating: 0, count: Int(size))
    let ok2 = bytes.withUnsafeMutableBytes { out in
      image.pixels.withUnsafeBytes { png_image_write_to_memory(&png, out.baseAddress, &size, 0, $0.baseAddress, 0, nil) }
    } != 0
    guard ok2 else {
      let m = message(&png)
      png_image_free(&png)
      throw TensorError("show: cannot encode a PNG (\(m))")
    }
    return Array(bytes.prefix(Int(size)))
  }

  /// An RGB image from PNG bytes in memory (8-bit; alpha dropped).
  public static func decode(_ bytes: [UInt8]) throws -> RGBImage {
    var png = png_image()
    png.version = UInt32(PNG_IMAGE_VERSION)
    let ok = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&png, $0.baseAddress, $0.count) } != 0
    guard ok else {
      let m = message(&png)
      png_image_free(&png)
      throw TensorError("not a valid PNG (\(m))")
    }
    png.format = color
    var out = RGBImage(width: Int(png.width), height: Int(png.height))
    let done = bytes.withUnsafeBytes { _ in
      out.pixels.withUnsafeMutableBytes { png_image_finish_read(&png, nil, $0.baseAddress, 0, nil) }
    } != 0
    guard done else {
      let m = message(&png)
      png_image_free(&png)
      throw TensorError("not a valid PNG (\(m))")
    }
    return out
  }
}
