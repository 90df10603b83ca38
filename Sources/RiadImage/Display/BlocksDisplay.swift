import Foundation

/// `blocks`: pictures as 24-bit colour upper-half blocks (each character
/// cell two pixels, one above the other), every word as terminal text:
/// titles and captions above the pictures, a plot's ticks, labels and
/// legend below it, a colour bar's two ends beside its colours.
struct BlocksDisplay: DisplayBackend {
  let colour: Bool

  var redraws: Bool { true }

  func render(_ figure: Figure, in box: DisplayBox, index: Int) throws -> Rendering {
    let text = try BlocksDisplay.text(figure, columns: box.columns, rows: box.rows)
    return Rendering(bytes: Array(text.utf8), rows: text.filter { $0 == "\n" }.count)
  }

  /// The figure as text lines within `columns`×`rows` cells a picture.
  static func text(_ figure: Figure, columns: Int, rows: Int) throws -> String {
    var out = ""
    if let title = figure.title {
      for line in Figure.wrap(title, columns, maxLines: 3) { out += "\u{1b}[1m\(line)\u{1b}[0m\n" }
    }
    switch figure.content {
    case .panels(let panels, let perRow, let minSide):
      out += panelsText(panels, perRow: perRow, minSide: minSide, columns: columns, rows: rows)
    case .plot(let plot, _, _):
      out += try plotText(plot, columns: columns, rows: rows)
    case .row(let figures):
      // Text cannot sit beside text pictures well: one below the other.
      out += try figures.map { try text($0, columns: columns, rows: rows) }.joined()
    }
    return out
  }

  static let gap = 2

  /// Rows of panels: captions as text over each, the pictures side by side
  /// (all scaled alike to fit a row into the width and a picture into the
  /// height), colour bars as their two values around a strip of colours.
  static func panelsText(_ panels: [Figure.Panel], perRow: Int, minSide: Int, columns: Int, rows: Int) -> String {
    guard !panels.isEmpty else { return "" }
    let layout = Figure.layout(panels, columns: perRow, factor: Figure.factor(panels, minSide: minSide))
    let natural = zip(panels, layout.factors).map { (w: $0.image.width * $1, h: $0.image.height * $1) }
    let groups = stride(from: 0, to: panels.count, by: perRow).map { Array($0..<min(panels.count, $0 + perRow)) }
    let widest = groups.map { g in g.map { natural[$0].w }.reduce(0, +) + gap * (g.count - 1) }.max()!
    let tallest = natural.map(\.h).max()!
    let s = min(Double(columns) / Double(widest), Double(rows * 2) / Double(tallest), 4)
    let scale = s >= 1 ? s.rounded(.down) : s
    var out = ""
    for g in groups {
      let images = g.map { i -> RGBImage in
        let (w, h) = (max(1, Int(Double(natural[i].w) * scale)), max(1, Int(Double(natural[i].h) * scale)))
        let k0 = layout.factors[i]
        return scale >= 1 ? panels[i].image.scaled(by: k0 * Int(scale)) : panels[i].image.scaled(by: k0).resized(width: w, height: h)
      }
      let widths = images.map(\.width)
      // Captions: each wrapped to its picture's width, at its column.
      let captions = g.map { Figure.wrap(panels[$0].caption ?? "", max(4, widths[g.firstIndex(of: $0)!]), maxLines: 2) }
      for line in 0..<(captions.map(\.count).max() ?? 0) {
        out += zip(captions, widths).map { c, w in pad(line < c.count ? c[line] : "", w) }
          .joined(separator: String(repeating: " ", count: gap)).trimmingTrailing() + "\n"
      }
      let lines = images.map(Blocks.lines)
      for row in 0..<(lines.map(\.count).max() ?? 0) {
        out += zip(lines, widths).map { l, w in row < l.count ? l[row] : String(repeating: " ", count: w) }
          .joined(separator: String(repeating: " ", count: gap)) + "\n"
      }
      let bars = g.map { panels[$0].colorBar }
      if bars.contains(where: { $0 != nil }) {
        out += zip(bars, widths).map { bar, w in bar.map { colorBar($0, width: w) } ?? String(repeating: " ", count: w) }
          .joined(separator: String(repeating: " ", count: gap)) + "\n"
      }
    }
    return out
  }

  /// `lo ████ hi` in the colour map's colours, `width` cells at most.
  static func colorBar(_ bar: Figure.ColorBar, width: Int) -> String {
    let lo = Figure.valueLabel(Double(bar.lo)), hi = Figure.valueLabel(Double(bar.hi))
    let n = max(3, min(16, width - lo.count - hi.count - 2))
    var s = lo + " "
    for i in 0..<n {
      let (r, g, b) = bar.cmap.rgb(Float(i) / Float(n - 1))
      s += "\u{1b}[38;2;\(Int(r * 255));\(Int(g * 255));\(Int(b * 255))m█"
    }
    s += "\u{1b}[0m " + hi
    let visible = lo.count + hi.count + n + 2
    return s + String(repeating: " ", count: max(0, width - visible))
  }

  /// A plot's picture drawn at the terminal's resolution without words,
  /// then its axes' tick values, labels and legend as text.
  static func plotText(_ plot: Figure.Plot, columns: Int, rows: Int) throws -> String {
    // Half-block pixels are about square: a 3:2 plot, within the rows.
    let width = max(16, min(columns, 120))
    let image = try Figure.drawPlot(plot, width: width, height: max(8, min(rows * 2, width * 2 / 3)), words: false)
    var out = ""
    if let yl = plot.ylabel { out += yl + "\n" }
    out += Blocks.lines(image).joined(separator: "\n") + "\n"
    let all = plot.series.flatMap { s in zip(s.x, s.y).filter { $0.0.isFinite && $0.1.isFinite } }
    let scale = Figure.PlotScale(all.map(\.0), all.map(\.1), integerX: plot.series.allSatisfy { $0.x.allSatisfy { $0 == $0.rounded() } })
    let xs = scale.xTicks.map { Figure.tickLabel($0, step: scale.xStep) }.joined(separator: " ")
    let ys = scale.yTicks.map { Figure.tickLabel($0, step: scale.yStep) }.joined(separator: " ")
    out += "x grid: \(xs)" + (plot.xlabel.map { "  (\($0))" } ?? "") + "\n"
    out += "y grid: \(ys)" + (plot.ylabel.map { "  (\($0))" } ?? "") + "\n"
    let named = plot.series.enumerated().filter { $0.element.name != nil }
    if !named.isEmpty && plot.series.count > 1 {
      out += named.map { i, s in
        let (r, g, b) = Figure.palette[i % Figure.palette.count]
        return "\u{1b}[38;2;\(r);\(g);\(b)m━━\u{1b}[0m \(s.name!)"
      }.joined(separator: "   ") + "\n"
    }
    return out
  }

  static func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? String(s.prefix(width)) : s + String(repeating: " ", count: width - s.count)
  }
}

/// 24-bit colour upper-half blocks: each character cell shows two pixels,
/// the top one as the foreground of '▀', the bottom one as its background.
public enum Blocks {
  /// One string a row of cells (two rows of pixels), each ending in a reset.
  public static func lines(_ image: RGBImage) -> [String] {
    stride(from: 0, to: image.height, by: 2).map { y in
      var line = ""
      var last: ((UInt8, UInt8, UInt8), (UInt8, UInt8, UInt8))? = nil
      for x in 0..<image.width {
        let t = image.pixel(x, y)
        let b = y + 1 < image.height ? image.pixel(x, y + 1) : (0, 0, 0)
        if last == nil || last!.0 != t || last!.1 != b {
          line += "\u{1b}[38;2;\(t.0);\(t.1);\(t.2)m\u{1b}[48;2;\(b.0);\(b.1);\(b.2)m"
          last = (t, b)
        }
        line += "▀"
      }
      return line + "\u{1b}[0m"
    }
  }

  /// The lines of a picture fitted into `maxColumns` (and `maxRows` rows,
  /// two pixels each): whole-factor upscaling of small pictures (at most
  /// 4×), area averaging of large ones.
  public static func render(_ image: RGBImage, maxColumns: Int = 80, maxRows: Int = 40) -> String {
    let fitted = Display.fit(image, maxWidth: max(8, maxColumns), maxHeight: max(4, maxRows * 2), target: 4 * max(image.width, image.height))
    return lines(fitted).joined(separator: "\n") + "\n"
  }
}

extension String {
  func trimmingTrailing() -> String {
    var s = self
    while s.last == " " { s.removeLast() }
    return s
  }
}
