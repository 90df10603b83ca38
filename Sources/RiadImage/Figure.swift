import Foundation
import RiadTensor

/// What `show` displays, kept as parts until the last step: pictures, and
/// the words that go with them (captions, a title, axis labels, a legend,
/// the values at the ends of a colour bar).
///
/// Terminals that draw pixels (sixel, kitty, iTerm2), files and reports get
/// `drawn()`: one picture with the words drawn in by riad's font. Text
/// terminals (blocks) print the words as text and only the pictures as
/// blocks, so no caption is ever shrunk into unreadable half-blocks.
public struct Figure {
  /// A picture with an optional caption; a colour-mapped map carries the
  /// values at the ends of its colour map, drawn as a colour bar.
  public struct Panel {
    public var caption: String?
    public var image: RGBImage
    public var colorBar: ColorBar?
    public init(caption: String? = nil, image: RGBImage, colorBar: ColorBar? = nil) {
      self.caption = caption; self.image = image; self.colorBar = colorBar
    }
  }

  /// The colour map a map was drawn with and the values at its two ends.
  public struct ColorBar {
    public var lo: Float, hi: Float, cmap: Colormap
    public init(lo: Float, hi: Float, cmap: Colormap) { self.lo = lo; self.hi = hi; self.cmap = cmap }
  }

  /// One line of a plot.
  public struct Series {
    public var name: String?
    public var x: [Double], y: [Double]
    public init(name: String?, x: [Double], y: [Double]) { self.name = name; self.x = x; self.y = y }
  }

  public struct Plot {
    public var series: [Series]
    public var xlabel: String?, ylabel: String?
    public init(series: [Series], xlabel: String? = nil, ylabel: String? = nil) {
      self.series = series; self.xlabel = xlabel; self.ylabel = ylabel
    }
  }

  public enum Content {
    /// Panels in rows of `columns`, each scaled by one whole factor so that
    /// the largest is at least `minSide` pixels.
    case panels([Panel], columns: Int, minSide: Int)
    case plot(Plot, width: Int, height: Int)
    /// Figures side by side, tops aligned (a training preview beside its
    /// loss curve); below one another where the width does not allow.
    case row([Figure])
  }

  public var title: String?
  public var content: Content

  public init(title: String? = nil, _ content: Content) { self.title = title; self.content = content }

  /// One picture, no words.
  public init(_ image: RGBImage) { self.init(.panels([Panel(image: image)], columns: 1, minSide: 1)) }

  /// Captioned panels: up to five in a row, more in a grid of at most six
  /// columns (or `columns`).
  public static func grid(_ panels: [Panel], columns: Int? = nil, minSide: Int = 128, title: String? = nil) -> Figure {
    let n = max(panels.count, 1)
    // Up to five panels in one row; more in a grid wider than tall.
    let c = max(1, min(columns ?? (n <= 5 ? n : min(6, Int(ceil(Double(n).squareRoot() * 1.5)))), n))
    return Figure(title: title, .panels(panels, columns: c, minSide: minSide))
  }

  /// The panels and their grid, when the figure has panels.
  public var panels: (panels: [Panel], columns: Int, minSide: Int)? {
    if case .panels(let p, let c, let m) = content { return (p, c, m) }
    return nil
  }

  /// A single picture without words, shown as it is.
  public var isBareImage: Bool {
    guard title == nil, let (p, _, _) = panels, p.count == 1 else { return false }
    return p[0].caption == nil && p[0].colorBar == nil
  }

  // MARK: - Drawn, words included

  static let black: (UInt8, UInt8, UInt8) = (0, 0, 0)
  static let gray: (UInt8, UInt8, UInt8) = (110, 110, 110)
  static let pad = 6

  /// The whole figure as one picture, every word drawn in.
  public func drawn() throws -> RGBImage {
    if isBareImage, let (p, _, _) = panels { return p[0].image }
    let body: RGBImage
    switch content {
    case .panels(let panels, let columns, let minSide):
      body = try drawPanels(panels, columns: columns, minSide: minSide)
    case .plot(let plot, let width, let height):
      body = try Figure.drawPlot(plot, width: width, height: height, words: true)
    case .row(let figures):
      body = Figure.beside(try figures.map { try $0.drawn() })
    }
    return try drawnTitled(body)
  }

  /// The whole factor panels are scaled by.
  static func factor(_ panels: [Panel], minSide: Int) -> Int {
    let side = panels.map { max($0.image.width, $0.image.height) }.max() ?? 1
    return max(1, min(8, minSide / max(side, 1)))
  }

  /// Where panels go: their scale, the grid's columns, and the size of a cell.
  /// `factor` scales the largest panel; a smaller one gets its own whole
  /// factor that brings it near the same size (a 16² map beside 64² images).
  struct PanelLayout {
    let factor: Int, columns: Int
    let factors: [Int]
    let cellWidth: Int, cellHeight: Int, captionHeight: Int
    let captions: [[String]]
    let barLabels: [[String]?]
    var rows: Int
    var width: Int { columns * cellWidth + (columns + 1) * Figure.pad }
    func height(rows r: Int) -> Int { r * cellHeight + (r + 1) * Figure.pad }
  }

  static func layout(_ panels: [Panel], columns: Int, factor f: Int) -> PanelLayout {
    let side = panels.map { max($0.image.width, $0.image.height) }.max()! * f
    let factors = panels.map { max(1, min(8 * f, side / max($0.image.width, $0.image.height, 1))) }
    let bars = panels.map { $0.colorBar.map(Figure.barLabels) }
    let barWidth = bars.map { labels in labels.map { l in 16 + l.map { Font.measure($0) }.max()! } ?? 0 }
    let cellW = zip(zip(panels, factors), barWidth).map { $0.0.image.width * $0.1 + $1 }.max()!
    let captions = panels.map { Figure.wrap($0.caption ?? "", max(4, (cellW + 1) / Font.advance), maxLines: 2) }
    let capH = captions.contains { !$0.isEmpty } ? captions.map(\.count).max()! * Font.lineHeight + 2 : 0
    let cellH = zip(panels, factors).map { $0.image.height * $1 }.max()! + capH
    return PanelLayout(factor: f, columns: columns, factors: factors, cellWidth: cellW, cellHeight: cellH, captionHeight: capH,
                       captions: captions, barLabels: bars, rows: (panels.count + columns - 1) / columns)
  }

  private func drawPanels(_ panels: [Panel], columns: Int, minSide: Int) throws -> RGBImage {
    guard !panels.isEmpty else { throw TensorError("grid: nothing to draw") }
    let l = Figure.layout(panels, columns: columns, factor: Figure.factor(panels, minSide: minSide))
    return Figure.drawPanels(panels, l, rows: 0..<l.rows)
  }

  /// The grid rows `rows` of a layout, drawn.
  static func drawPanels(_ panels: [Panel], _ l: PanelLayout, rows: Range<Int>) -> RGBImage {
    var out = RGBImage(width: l.width, height: l.height(rows: rows.count))
    for i in (rows.lowerBound * l.columns)..<min(panels.count, rows.upperBound * l.columns) {
      let image = panels[i].image.scaled(by: l.factors[i])
      let x = pad + (i % l.columns) * (l.cellWidth + pad), y = pad + (i / l.columns - rows.lowerBound) * (l.cellHeight + pad)
      for (j, line) in l.captions[i].enumerated() { out.text(line, x: x, y: y + j * Font.lineHeight, color: black) }
      out.blit(image, x: x, y: y + l.captionHeight)
      if let bar = panels[i].colorBar, let labels = l.barLabels[i] {
        drawColorBar(&out, bar, labels, x: x + image.width + 4, y: y + l.captionHeight, height: image.height)
      }
    }
    return out
  }

  /// The figure drawn in parts that each fit `maxWidth`×`maxHeight` with
  /// words at full size where possible: panels re-flow into fewer columns
  /// (then smaller scales) to fit the width, and a grid taller than the
  /// height comes in pieces of whole rows; a plot is drawn at the size that
  /// fits. Parts that still do not fit are left to `Display.fit`.
  public func drawnParts(maxWidth: Int, maxHeight: Int) throws -> [RGBImage] {
    if isBareImage { return [try drawn()] }
    var parts: [RGBImage]
    switch content {
    case .plot(let plot, let width, let height):
      parts = [try Figure.drawPlot(plot, width: max(160, min(width, maxWidth)), height: max(120, min(height, maxHeight)), words: true)]
    case .panels(let panels, let columns, let minSide):
      guard !panels.isEmpty else { throw TensorError("grid: nothing to draw") }
      var chosen = Figure.layout(panels, columns: 1, factor: 1)
      search: for f in stride(from: Figure.factor(panels, minSide: minSide), through: 1, by: -1) {
        for c in stride(from: columns, through: 1, by: -1) {
          let l = Figure.layout(panels, columns: c, factor: f)
          if l.width <= maxWidth { chosen = l; break search }
        }
      }
      let titleHeight = title.map { Figure.wrap($0, max(8, (chosen.width - 2 * Figure.pad) / Font.advance), maxLines: 3).count * Font.lineHeight + Figure.pad } ?? 0
      let perPart = max(1, (maxHeight - titleHeight - Figure.pad) / (chosen.cellHeight + Figure.pad))
      parts = stride(from: 0, to: chosen.rows, by: perPart).map { r in
        Figure.drawPanels(panels, chosen, rows: r..<min(chosen.rows, r + perPart))
      }
    case .row(let figures):
      let whole = try figures.map { try $0.drawn() }
      let side = Figure.beside(whole)
      if side.width <= maxWidth && side.height <= maxHeight {
        parts = [side]
      } else {
        parts = try figures.flatMap { try $0.drawnParts(maxWidth: maxWidth, maxHeight: maxHeight) }
      }
    }
    if let title, !parts.isEmpty {
      parts[0] = try Figure(title: title, .panels([Panel(image: parts[0])], columns: 1, minSide: 1)).drawnTitled(parts[0])
    }
    return parts
  }

  /// Pictures side by side on white, tops aligned, `pad` apart.
  static func beside(_ images: [RGBImage]) -> RGBImage {
    guard !images.isEmpty else { return RGBImage(width: 1, height: 1) }
    let width = images.map(\.width).reduce(0, +) + pad * (images.count - 1)
    var out = RGBImage(width: width, height: images.map(\.height).max()!)
    var x = 0
    for image in images { out.blit(image, x: x, y: 0); x += image.width + pad }
    return out
  }

  /// `body` with the title above it.
  private func drawnTitled(_ body: RGBImage) throws -> RGBImage {
    guard let title else { return body }
    let lines = Figure.wrap(title, max(8, (body.width - 2 * Figure.pad) / Font.advance), maxLines: 3)
    let head = lines.count * Font.lineHeight + Figure.pad
    var out = RGBImage(width: max(body.width, min(Font.measure(title), body.width * 2) + 2 * Figure.pad), height: body.height + head)
    for (i, line) in lines.enumerated() {
      out.text(line, x: (out.width - Font.measure(line)) / 2, y: Figure.pad / 2 + i * Font.lineHeight, color: Figure.black)
    }
    out.blit(body, x: (out.width - body.width) / 2, y: head)
    return out
  }

  /// The three labels of a colour bar: its top, middle and bottom values.
  static func barLabels(_ bar: ColorBar) -> [String] {
    [bar.hi, (bar.lo + bar.hi) / 2, bar.lo].map { Figure.valueLabel(Double($0)) }
  }

  private static func drawColorBar(_ img: inout RGBImage, _ bar: ColorBar, _ labels: [String], x: Int, y: Int, height: Int) {
    let h = max(height, 3)
    for row in 0..<h {
      let v = Float(h - 1 - row) / Float(max(h - 1, 1))
      let (r, g, b) = bar.cmap.rgb(v)
      img.fill(x: x, y: y + row, width: 8, height: 1, (UInt8(r * 255 + 0.5), UInt8(g * 255 + 0.5), UInt8(b * 255 + 0.5)))
    }
    for (i, label) in labels.enumerated() {
      let ty = y + (h - 1) * i / 2
      img.fill(x: x + 8, y: ty, width: 2, height: 1, black)
      img.text(label, x: x + 12, y: ty - Font.bodyTop - 3, color: black)
    }
  }

  // MARK: - Plots

  /// Draws a plot at `width`×`height`: frame, grid, round ticks, curves
  /// kept off the frame, and (with `words`) tick labels, axis labels and a
  /// legend.
  static func drawPlot(_ plot: Plot, width: Int, height: Int, words: Bool) throws -> RGBImage {
    let s = plot.series
    for one in s where one.x.count != one.y.count {
      throw TensorError("plot: x has \(one.x.count) values but y has \(one.y.count)")
    }
    let finite = s.flatMap { one in zip(one.x, one.y).filter { $0.0.isFinite && $0.1.isFinite } }
    guard !finite.isEmpty else { throw TensorError("plot: no finite points to draw") }
    let scale = PlotScale(finite.map(\.0), finite.map(\.1), integerX: s.allSatisfy { $0.x.allSatisfy { $0 == $0.rounded() } })
    let yLabels = scale.yTicks.map { tickLabel($0, step: scale.yStep) }
    let xLabels = scale.xTicks.map { tickLabel($0, step: scale.xStep) }
    let left = words ? 10 + (yLabels.map { Font.measure($0) }.max() ?? 0) : 2
    let right = words ? 14 : 2
    let top = words && plot.ylabel != nil ? Font.lineHeight + 6 : (words ? 10 : 2)
    let bottom = words ? 22 + (plot.xlabel != nil ? Font.lineHeight : 0) : 2
    let pw = max(width - left - right, 8), ph = max(height - top - bottom, 8)
    var img = RGBImage(width: width, height: height)
    func px(_ x: Double) -> Int { left + Int(((x - scale.x0) / (scale.x1 - scale.x0) * Double(pw - 1)).rounded()) }
    func py(_ y: Double) -> Int { top + ph - 1 - Int(((y - scale.y0) / (scale.y1 - scale.y0) * Double(ph - 1)).rounded()) }
    let grid: (UInt8, UInt8, UInt8) = (228, 228, 228)
    for (t, label) in zip(scale.yTicks, yLabels) {
      img.line(left, py(t), left + pw - 1, py(t), grid)
      img.fill(x: left - 3, y: py(t), width: 3, height: 1, black)
      if words { img.text(label, x: left - 5 - Font.measure(label), y: py(t) - Font.bodyTop - 3, color: black) }
    }
    for (t, label) in zip(scale.xTicks, xLabels) {
      img.line(px(t), top, px(t), top + ph - 1, grid)
      img.fill(x: px(t), y: top + ph, width: 1, height: 3, black)
      if words { img.text(label, x: px(t) - Font.measure(label) / 2, y: top + ph + 5, color: black) }
    }
    img.line(left, top, left, top + ph - 1, black)
    img.line(left, top + ph - 1, left + pw - 1, top + ph - 1, black)
    for (i, one) in s.enumerated() {
      let c = palette[i % palette.count]
      var last: (Int, Int)? = nil
      for (x, y) in zip(one.x, one.y) {
        guard x.isFinite && y.isFinite else { last = nil; continue }
        let p = (px(x), py(y))
        if let l = last { img.line(l.0, l.1, p.0, p.1, c, thickness: width < 240 ? 1 : 2) }
        else if one.x.count == 1 { img.fill(x: p.0 - 1, y: p.1 - 1, width: 3, height: 3, c) }
        last = p
      }
    }
    guard words else { return img }
    if let xl = plot.xlabel {
      img.text(xl, x: left + (pw - Font.measure(xl)) / 2, y: top + ph + 5 + Font.lineHeight, color: black)
    }
    if let yl = plot.ylabel { img.text(yl, x: max(2, left - Font.measure(yl) / 2), y: 1, color: black) }
    let named = s.enumerated().filter { $0.element.name != nil }
    if named.count > 1 || (named.count == 1 && s.count > 1) {
      let lw = named.map { Font.measure($0.element.name!) }.max()! + 26
      let lx = left + pw - lw - 6
      var ly = top + 6
      img.fill(x: lx - 4, y: ly - 4, width: lw + 8, height: named.count * Font.lineHeight + 6, (255, 255, 255))
      for (i, one) in named {
        img.fill(x: lx, y: ly + 5, width: 16, height: 3, palette[i % palette.count])
        img.text(one.name!, x: lx + 22, y: ly - Font.bodyTop + 1, color: black)
        ly += Font.lineHeight
      }
    }
    return img
  }

  /// Matplotlib's first colours (tab10), one per series.
  public static let palette: [(UInt8, UInt8, UInt8)] = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
  ]

  /// Round ticks for both axes and the data ranges padded so that no curve
  /// lies on the frame.
  struct PlotScale {
    var x0, x1, y0, y1: Double
    var xTicks: [Double], yTicks: [Double]
    var xStep: Double, yStep: Double

    init(_ xs: [Double], _ ys: [Double], integerX: Bool) {
      var (a, b) = (xs.min()!, xs.max()!), (c, d) = (ys.min()!, ys.max()!)
      if a == b { a -= 1; b += 1 }
      if c == d { c -= 1; d += 1 }
      (xTicks, xStep) = Figure.ticks(a, b, integers: integerX)
      (yTicks, yStep) = Figure.ticks(c, d, integers: false)
      let mx = (b - a) * 0.04, my = (d - c) * 0.06
      x0 = min(a - mx, xTicks.first!); x1 = max(b + mx, xTicks.last!)
      y0 = min(c - my, yTicks.first!); y1 = max(d + my, yTicks.last!)
    }
  }

  /// About five round tick values inside [lo, hi] (steps of 1, 2, 2.5 or 5
  /// times a power of ten; at least 1 for integer data), and the step.
  static func ticks(_ lo: Double, _ hi: Double, integers: Bool) -> ([Double], Double) {
    let raw = (hi - lo) / 5
    let mag = pow(10, floor(log10(raw)))
    var step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
    if integers { step = max(1, step.rounded(.up)) }
    var out: [Double] = []
    var t = (lo / step).rounded(.up) * step
    while t <= hi + step * 1e-9 && out.count < 20 {
      out.append(abs(t) < step * 1e-9 ? 0 : t)
      t += step
    }
    if out.isEmpty { out = [lo] }
    return (out, step)
  }

  /// A tick's label with as many decimals as its step needs, and with the
  /// leading zero ("0.25", not ".25").
  public static func tickLabel(_ v: Double, step: Double) -> String {
    if !v.isFinite { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
    if v != 0 && (abs(v) >= 1e6 || abs(v) < 1e-4) { return String(format: "%.2g", v) }
    var decimals = 0, scaled = abs(step)
    while decimals < 6 && scaled > 0 && abs(scaled - scaled.rounded()) > 1e-6 * max(1, scaled) { scaled *= 10; decimals += 1 }
    let s = String(format: "%.\(decimals)f", v)
    return s.hasPrefix("-") && Double(s) == 0 ? String(s.dropFirst()) : s
  }

  /// A value in three significant digits, leading zero kept ("0.437").
  public static func valueLabel(_ v: Double) -> String {
    if !v.isFinite { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
    if v == v.rounded() && abs(v) < 1e6 { return String(Int(v)) }
    return String(format: "%.3g", v)
  }

  /// Splits `s` into lines of at most `width` characters at spaces, at
  /// most `maxLines` of them (the last one ends with "…" when cut).
  static func wrap(_ s: String, _ width: Int, maxLines: Int) -> [String] {
    guard !s.isEmpty else { return [] }
    var lines: [String] = [], current = ""
    for word in s.split(separator: " ", omittingEmptySubsequences: false) {
      var w = String(word)
      while w.count > width { // a word longer than a line is cut
        if !current.isEmpty { lines.append(current); current = "" }
        lines.append(String(w.prefix(width))); w = String(w.dropFirst(width))
      }
      if current.isEmpty { current = w } else if current.count + 1 + w.count <= width { current += " " + w } else {
        lines.append(current); current = w
      }
    }
    if !current.isEmpty { lines.append(current) }
    if lines.count > maxLines {
      lines = Array(lines.prefix(maxLines))
      lines[maxLines - 1] = String(lines[maxLines - 1].prefix(width - 1)) + "…"
    }
    return lines
  }
}
