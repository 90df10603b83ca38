import CSixel
import RiadTensor

/// Sixel encoding through libsixel's low-level API, into a buffer of ours
/// (so it can be wrapped for tmux, saved, or compared in tests).
public enum Sixel {
  final class Sink { var bytes: [UInt8] = [] }

  /// The sixel sequence (`ESC P q … ESC \`) of an RGB image: a palette of up
  /// to 256 colours chosen by libsixel, no dithering (crisp masks and maps).
  public static func encode(_ image: RGBImage) throws -> [UInt8] {
    let sink = Sink()
    let ctx = Unmanaged.passRetained(sink)
    defer { ctx.release() }
    var output: OpaquePointer? = nil
    let write: sixel_write_function = { data, size, priv in
      guard let data, let priv else { return 0 }
      let s = Unmanaged<Sink>.fromOpaque(priv).takeUnretainedValue()
      data.withMemoryRebound(to: UInt8.self, capacity: Int(size)) { s.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(size))) }
      return size
    }
    guard sixel_output_new(&output, write, ctx.toOpaque(), nil) == SIXEL_OK, let output else {
      throw TensorError("show: libsixel could not create an output")
    }
    defer { sixel_output_unref(output) }
    // Masks, maps and plots rarely use more than 256 colours: then the
    // palette is exactly the image's colours and pixels are its indices.
    // Otherwise libsixel builds a palette (no dithering, so edges stay crisp).
    var palette: [UInt8] = [], index: [UInt32: UInt8] = [:]
    var indices = [UInt8](repeating: 0, count: image.width * image.height)
    for p in 0..<indices.count {
      let key = UInt32(image.pixels[3 * p]) << 16 | UInt32(image.pixels[3 * p + 1]) << 8 | UInt32(image.pixels[3 * p + 2])
      if let i = index[key] { indices[p] = i; continue }
      if index.count == 256 { palette = []; break }
      index[key] = UInt8(index.count)
      indices[p] = UInt8(index.count - 1)
      palette += image.pixels[(3 * p)..<(3 * p + 3)]
    }
    let exact = !palette.isEmpty
    var dither: OpaquePointer? = nil
    guard sixel_dither_new(&dither, Int32(exact ? palette.count / 3 : 256), nil) == SIXEL_OK, let dither else {
      throw TensorError("show: libsixel could not create a palette")
    }
    defer { sixel_dither_unref(dither) }
    var pixels = image.pixels
    let status: SIXELSTATUS
    if exact {
      status = palette.withUnsafeMutableBufferPointer { pal in
        indices.withUnsafeMutableBufferPointer { p -> SIXELSTATUS in
          sixel_dither_set_palette(dither, pal.baseAddress)
          sixel_dither_set_pixelformat(dither, Int32(SIXEL_PIXELFORMAT_PAL8))
          return sixel_encode(p.baseAddress, Int32(image.width), Int32(image.height), 0, dither, output)
        }
      }
    } else {
      status = pixels.withUnsafeMutableBufferPointer { p -> SIXELSTATUS in
        let s = sixel_dither_initialize(dither, p.baseAddress, Int32(image.width), Int32(image.height),
                                        Int32(SIXEL_PIXELFORMAT_RGB888), Int32(SIXEL_LARGE_AUTO),
                                        Int32(SIXEL_REP_AVERAGE_PIXELS), Int32(SIXEL_QUALITY_FULL))
        guard s == SIXEL_OK else { return s }
        sixel_dither_set_diffusion_type(dither, Int32(SIXEL_DIFFUSE_NONE))
        return sixel_encode(p.baseAddress, Int32(image.width), Int32(image.height), 0, dither, output)
      }
    }
    guard status == SIXEL_OK else {
      throw TensorError("show: libsixel failed: \(String(cString: sixel_helper_format_error(status)))")
    }
    return sink.bytes
  }

  /// Wraps a sequence for tmux's DCS passthrough (see `Tmux.passthrough`).
  public static func tmuxPassthrough(_ bytes: [UInt8]) -> [UInt8] { Tmux.passthrough(bytes) }
}
