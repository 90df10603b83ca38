import Foundation
import RiadTensor

/// Captioned grids of panels and line plots, drawn into RGB images.
public enum Compose {
  static let black: (UInt8, UInt8, UInt8) = (0, 0, 0)
  static let white: (UInt8, UInt8, UInt8) = (255, 255, 255)

  /// Panels in rows of `cols` (default: up to 6 per row, near-square), each
  /// with its caption above, scaled by one integer factor so that the
  /// largest panel is at least `minSide` pixels.
  public static func grid(_ panels: [(caption: String?, image: RGBImage)], cols: Int? = nil, minSide: Int = 128) throws -> RGBImage {
    guard !panels.isEmpty else { throw TensorError("grid: nothing to draw") }
    let n = panels.count
    let c = max(1, min(cols ?? min(6, Int(ceil(Double(n).squareRoot() * 1.5))), n))
    let rows = (n + c - 1) / c
    let maxSide = panels.map { max($0.image.width, $0.image.height) }.max()!
    let factor = max(1, min(8, minSide / max(maxSide, 1)))
    let cellW = panels.map { $0.image.width * factor }.max()!
    let hasCaptions = panels.contains { $0.caption != nil }
    // Captions wrap to the panel width (at most two lines).
    let charsPerLine = max(4, (cellW + 1) / Font.advance)
    let captionLines = panels.map { p -> [String] in wrap(p.caption ?? "", charsPerLine) }
    let capH = hasCaptions ? (captionLines.map(\.count).max()! * 9 + 3) : 0
    let cellH = panels.map { $0.image.height * factor }.max()! + capH
    let pad = 6
    var out = RGBImage(width: c * cellW + (c + 1) * pad, height: rows * cellH + (rows + 1) * pad)
    for (i, p) in panels.enumerated() {
      let x = pad + (i % c) * (cellW + pad), y = pad + (i / c) * (cellH + pad)
      for (j, line) in captionLines[i].enumerated() { out.text(line, x: x, y: y + j * 9, color: black) }
      out.blit(p.image.scaled(by: factor), x: x, y: y + capH)
    }
    return out
  }

  static func wrap(_ s: String, _ width: Int) -> [String] {
    guard !s.isEmpty else { return [] }
    if s.count <= width { return [s] }
    var first = String(s.prefix(width))
    if let space = first.lastIndex(of: " "), first.distance(from: first.startIndex, to: space) > width / 2 {
      first = String(first[..<space])
    }
    var rest = String(s.dropFirst(first.count)).trimmingCharacters(in: .whitespaces)
    if rest.count > width { rest = String(rest.prefix(width - 1)) + "~" }
    return rest.isEmpty ? [first] : [first, rest]
  }

  static let palette: [(UInt8, UInt8, UInt8)] = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
  ]

  /// A line plot: axes with ticks and labels, an optional title, one colour
  /// per series and a legend when there is more than one named series.
  public static func plot(_ series: [(name: String?, x: [Double], y: [Double])], title: String? = nil,
                          width: Int = 480, height: Int = 320) throws -> RGBImage {
    let finite = series.flatMap { s in zip(s.x, s.y).filter { $0.0.isFinite && $0.1.isFinite } }
    guard !finite.isEmpty else { throw TensorError("plot: no finite points to draw") }
    for s in series where s.x.count != s.y.count {
      throw TensorError("plot: x has \(s.x.count) values but y has \(s.y.count)")
    }
    var (x0, x1) = (finite.map(\.0).min()!, finite.map(\.0).max()!)
    var (y0, y1) = (finite.map(\.1).min()!, finite.map(\.1).max()!)
    if x0 == x1 { x0 -= 1; x1 += 1 }
    if y0 == y1 { y0 -= 1; y1 += 1 }
    let yt = ticks(y0, y1), xt = ticks(x0, x1)
    y0 = min(y0, yt.first!); y1 = max(y1, yt.last!)
    let labels = yt.map(tickLabel)
    let left = 10 + (labels.map { Font.measure($0) }.max() ?? 0), right = 14
    let top = title == nil ? 12 : 26, bottom = 26
    let pw = width - left - right, ph = height - top - bottom
    var img = RGBImage(width: width, height: height)
    func px(_ x: Double) -> Int { left + Int(((x - x0) / (x1 - x0) * Double(pw - 1)).rounded()) }
    func py(_ y: Double) -> Int { top + ph - 1 - Int(((y - y0) / (y1 - y0) * Double(ph - 1)).rounded()) }
    let grid: (UInt8, UInt8, UInt8) = (230, 230, 230)
    for (t, label) in zip(yt, labels) where t >= y0 && t <= y1 {
      img.line(left, py(t), left + pw - 1, py(t), grid)
      img.text(label, x: left - 5 - Font.measure(label), y: py(t) - 3, color: black)
    }
    for t in xt where t >= x0 && t <= x1 {
      img.line(px(t), top, px(t), top + ph - 1, grid)
      let label = tickLabel(t)
      img.text(label, x: px(t) - Font.measure(label) / 2, y: top + ph + 6, color: black)
    }
    img.line(left, top, left, top + ph - 1, black)
    img.line(left, top + ph - 1, left + pw - 1, top + ph - 1, black)
    for (i, s) in series.enumerated() {
      let c = palette[i % palette.count]
      var last: (Int, Int)? = nil
      for (x, y) in zip(s.x, s.y) {
        guard x.isFinite && y.isFinite else { last = nil; continue }
        let p = (px(x), py(y))
        if let l = last { img.line(l.0, l.1, p.0, p.1, c, thickness: 2) } else { img.fill(x: p.0 - 1, y: p.1 - 1, width: 3, height: 3, c) }
        last = p
      }
    }
    if let title { img.text(title, x: left + (pw - Font.measure(title, scale: 1)) / 2, y: 8, color: black) }
    let named = series.enumerated().filter { $0.element.name != nil }
    if named.count > 1 || (named.count == 1 && series.count > 1) {
      let lw = named.map { Font.measure($0.element.name!) }.max()! + 26
      var ly = top + 6
      let lx = left + pw - lw - 6
      img.fill(x: lx - 4, y: ly - 4, width: lw + 8, height: named.count * 12 + 6, white)
      for (i, s) in named {
        img.fill(x: lx, y: ly + 2, width: 16, height: 3, palette[i % palette.count])
        img.text(s.name!, x: lx + 22, y: ly, color: black)
        ly += 12
      }
    }
    return img
  }

  /// About five round tick values covering [lo, hi].
  static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
    let raw = (hi - lo) / 5
    let mag = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
    let start = floor(lo / step) * step
    var out: [Double] = []
    var t = start
    while t <= hi + step * 0.5 && out.count < 20 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
    return out
  }

  static func tickLabel(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e6 { return String(Int(v)) }
    var s = String(format: "%.3g", v)
    if s.hasPrefix("0.") { s = String(s.dropFirst()) } else if s.hasPrefix("-0.") { s = "-" + s.dropFirst(2) }
    return s
  }
}
