import RiadTensor

/// An 8-bit RGB picture for drawing and display.
public struct RGBImage: Equatable {
  public let width: Int, height: Int
  /// Interleaved R, G, B bytes, row-major.
  public var pixels: [UInt8]

  public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
    self.width = width
    self.height = height
    pixels = [UInt8](repeating: 0, count: width * height * 3)
    for i in 0..<(width * height) { pixels[3 * i] = fill.0; pixels[3 * i + 1] = fill.1; pixels[3 * i + 2] = fill.2 }
  }

  /// A `[C,H,W]` image (C = 1…4, alpha ignored) or `[H,W]` map, clamped to [0,1].
  public init(_ t: Tensor) throws {
    let chw: Tensor = t.rank == 2 ? try t.reshaped([1] + t.shape) : t
    guard chw.rank == 3, (1...4).contains(chw.shape[0]) else {
      throw TensorError("expected an image [C,H,W] with C = 1 to 4 or a map [H,W], got \(t.shape.shapeString)")
    }
    let (c, h, w) = (chw.shape[0], chw.shape[1], chw.shape[2])
    self.init(width: w, height: h)
    let colour = c >= 3
    for p in 0..<(w * h) {
      for k in 0..<3 {
        let v = chw.data[(colour ? k : 0) * w * h + p]
        pixels[3 * p + k] = UInt8((v.isNaN ? 0 : Swift.min(Swift.max(v, 0), 1)) * 255 + 0.5)
      }
    }
  }

  /// `[3,H,W]` in [0,1].
  public var tensor: Tensor {
    var d = [Float](repeating: 0, count: 3 * width * height)
    for p in 0..<(width * height) { for k in 0..<3 { d[k * width * height + p] = Float(pixels[3 * p + k]) / 255 } }
    return Tensor(shape: [3, height, width], data: d)
  }

  public func pixel(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
    let i = 3 * (y * width + x)
    return (pixels[i], pixels[i + 1], pixels[i + 2])
  }

  public mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
    guard x >= 0, y >= 0, x < width, y < height else { return }
    let i = 3 * (y * width + x)
    pixels[i] = c.0; pixels[i + 1] = c.1; pixels[i + 2] = c.2
  }

  /// Each pixel repeated `factor` times in both directions (blocky on purpose).
  public func scaled(by factor: Int) -> RGBImage {
    guard factor > 1 else { return self }
    var out = RGBImage(width: width * factor, height: height * factor)
    for y in 0..<out.height { for x in 0..<out.width { out.set(x, y, pixel(x / factor, y / factor)) } }
    return out
  }

  public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ c: (UInt8, UInt8, UInt8)) {
    for yy in max(0, y)..<min(height, y + h) { for xx in max(0, x)..<min(width, x + w) { set(xx, yy, c) } }
  }

  public mutating func blit(_ other: RGBImage, x: Int, y: Int) {
    for yy in 0..<other.height { for xx in 0..<other.width { set(x + xx, y + yy, other.pixel(xx, yy)) } }
  }

  /// Draws `text` in riad's bitmap font with the top of its cells at `y`
  /// (capitals start 2 rows lower, under the room for their accents).
  public mutating func text(_ text: String, x: Int, y: Int, color: (UInt8, UInt8, UInt8) = (0, 0, 0), scale: Int = 1) {
    var cx = x
    for ch in text {
      let g = Font.glyph(ch)
      for (row, bits) in g.rows.enumerated() {
        for col in 0..<Font.width where bits & (0x10 >> UInt8(col)) != 0 {
          fill(x: cx + col * scale, y: y + row * scale, width: scale, height: scale, color)
        }
      }
      cx += Font.advance * scale
    }
  }

  /// A straight line (Bresenham), `thickness` pixels wide.
  public mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: (UInt8, UInt8, UInt8), thickness: Int = 1) {
    var (x, y) = (x0, y0)
    let dx = abs(x1 - x0), dy = -abs(y1 - y0)
    let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
    var err = dx + dy
    while true {
      fill(x: x - thickness / 2, y: y - thickness / 2, width: thickness, height: thickness, c)
      if x == x1 && y == y1 { break }
      let e2 = 2 * err
      if e2 >= dy { err += dy; x += sx }
      if e2 <= dx { err += dx; y += sy }
    }
  }
}
