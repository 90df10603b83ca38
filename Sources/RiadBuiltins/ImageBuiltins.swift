import Foundation
import RiadData
import RiadImage
import RiadLang
import RiadTensor

extension Session {
  /// The figure of a value: an image `[C,H,W]`, a map `[H,W]` (colour-mapped,
  /// with a colour bar), a batch `[N,C,H,W]` (a grid), a list (a grid), a
  /// record (captioned panels), or a picture a builtin made (`grid`,
  /// `plot`, `explain`), which keeps its words as words.
  func figure(_ v: Value, what: String = "show") throws -> Figure {
    switch v {
    case .tensor(let t):
      if let f = figures.figure(of: t) { return f }
      if t.rank == 4 {
        guard [1, 3, 4].contains(t.shape[1]) else { throw notAPicture(t, what) }
        return Figure.grid(try (0..<t.shape[0]).map { try panel(nil, .tensor(t.indexed([.at($0)])), what) })
      }
      let p = try panel(nil, v, what)
      return p.colorBar == nil ? Figure(p.image) : Figure.grid([p], minSide: 1)
    case .list(let l):
      return Figure.grid(try l.items.map { try panel(nil, $0, what) })
    case .record(let r):
      return Figure.grid(try r.pairs.map { try panel($0.0, $0.1, what) })
    default:
      throw BuiltinError("\(what): \(v.brief) has no picture")
    }
  }

  /// One panel of a figure: a map gets the jet colours and a colour bar.
  func panel(_ caption: String?, _ v: Value, _ what: String) throws -> Figure.Panel {
    guard case .tensor(let t) = v, figures.figure(of: t) == nil else {
      return Figure.Panel(caption: caption, image: try figure(v, what: what).drawn())
    }
    switch t.rank {
    case 2:
      let finite = t.data.filter { $0.isFinite }
      let (lo, hi) = (finite.min() ?? 0, finite.max() ?? 1)
      return Figure.Panel(caption: caption, image: try RGBImage(ImageOps.heatmap(t)), colorBar: .init(lo: lo, hi: hi, cmap: .jet))
    case 3 where [1, 3, 4].contains(t.shape[0]):
      return Figure.Panel(caption: caption, image: try RGBImage(t))
    case 4 where [1, 3, 4].contains(t.shape[1]):
      return Figure.Panel(caption: caption, image: try figure(v, what: what).drawn())
    default:
      throw notAPicture(t, what)
    }
  }

  func notAPicture(_ t: Tensor, _ what: String) -> BuiltinError {
    BuiltinError("\(what): a tensor \(t.shape.shapeString) is not a picture (expected a map [H,W], an image [C,H,W] or a batch [N,C,H,W] with C = 1, 3 or 4)")
  }

  /// A picture built from a figure, returned as a tensor that remembers
  /// its figure (so `show` of it prints its words as text where it must).
  func pictureTensor(_ f: Figure) throws -> Value {
    let t = try f.drawn().tensor
    figures.remember(f, for: t)
    return .tensor(t)
  }

  func imageBuiltins() -> [Builtin] {
    let cat = "Images and display"
    return [
      Builtin("load_image", category: cat,
              params: [P("path", .string, "a PNG file (8/16-bit gray, gray+alpha, RGB, RGBA or palette)"),
                       P("size", .sides, "resize to this side or [h, w]", nilDefault), P("gray", .bool, "one luma channel instead of three", .bool(false))],
              summary: "Reads a PNG into an image [C,H,W] in [0,1] (3 channels, or 1 with gray: true; alpha dropped).",
              example: "save_image(rand([3, 8, 8], seed: 1), \"/tmp/riad-example.png\")\nload_image(\"/tmp/riad-example.png\", size: 4)") { a in
        var t = try MVTec.image(try a.string("path"), nil, try a.bool("gray"))
        if let (h, w) = try a.optionalSides("size") { t = try ImageOps.resize(t, height: h, width: w) }
        return .tensor(t)
      },
      Builtin("save_image", category: cat,
              params: [P("t", .tensor, "an image [C,H,W] (C = 1…4) or a map [H,W], values in [0,1]"), P("path", .string, "the PNG file to write"),
                       P("bits", .integerIn([8, 16]), "8 or 16 bits per sample", num(8))],
              summary: "Writes a PNG (values clamped to [0,1]); the file is replaced atomically.",
              example: "save_image(ones([1, 4, 4]), \"/tmp/riad-white.png\")") { a in
        try PNG.write(try a.tensor("t"), to: try a.string("path"), bitDepth: try a.int("bits"))
        return .none
      },
      Builtin("resize", category: cat, params: [P("t", .tensor, "[C,H,W], [N,C,H,W] or [H,W]"), P("size", .sides, "the new side or [h, w]")],
              summary: "Resizes images: area averaging when shrinking, bilinear when enlarging.",
              example: "shape(resize(rand([3, 32, 32]), 8))") { a in
        let (h, w) = try a.sides("size")
        return .tensor(try ImageOps.resize(try a.tensor("t"), height: h, width: w))
      },
      Builtin("to_gray", category: cat, params: [P("t", .tensor, "[3,H,W] or [N,3,H,W]")],
              summary: "Luma 0.299 R + 0.587 G + 0.114 B, one channel.", example: "to_gray(ones([3, 2, 2]))") { a in
        .tensor(try ImageOps.toGray(try a.tensor("t")))
      },
      Builtin("heatmap", category: cat,
              params: [P("map", .tensor, "a map [H,W] (or [1,H,W], [1,1,H,W])"),
                       P("cmap", .choice(Colormap.allCases.map(\.rawValue)), "\"jet\", \"viridis\", \"magma\" or \"gray\"", .string("jet")),
                       P("range", .pair("[lo, hi]"), "[lo, hi] mapped to the ends; nil uses the map's min and max", nilDefault)],
              summary: "A map as an RGB image [3,H,W] through a colour map.",
              example: "heatmap(tensor([[0, 0.5], [0.75, 1]]), cmap: \"viridis\")") { a in
        .tensor(try ImageOps.heatmap(try a.tensor("map"), cmap: try Colormap.named(try a.string("cmap")), range: try interval(a)))
      },
      Builtin("overlay", category: cat,
              params: [P("img", .tensor, "an image [C,H,W]"), P("map", .tensor, "a map [H,W]"),
                       P("alpha", .number, "weight of the heat map", num(0.5)), P("range", .pair("[lo, hi]"), "[lo, hi] for the colours; nil uses the map's own", nilDefault)],
              summary: "The image blended with the jet heat map of map: (1 − alpha)·img + alpha·heatmap(map).",
              example: "overlay(rand([3, 8, 8], seed: 1), rand([8, 8], seed: 2))") { a in
        .tensor(try ImageOps.overlay(try a.tensor("img"), try a.tensor("map"), alpha: try a.float("alpha"), range: try interval(a)))
      },
      Builtin("grid", category: cat,
              params: [P("items", .either([.record, .list]), "images, maps or batches; a record captions each panel with its field name"),
                       P("cols", .integer(min: 1), "panels per row", nilDefault), P("title", .string, "a title over the panels", nilDefault)],
              summary: "One RGB image of panels (upscaled by an integer factor so small tensors stay readable); maps get a colour bar.",
              example: "grid({input: rand([3, 16, 16], seed: 1), map: rand([16, 16], seed: 2)})") { [unowned self] a in
        let pairs: [(String?, Value)]
        if case .record(let r) = a["items"] { pairs = r.pairs.map { ($0.0, $0.1) } } else { pairs = try a.list("items").map { (nil, $0) } }
        let panels = try pairs.map { try self.panel($0.0, $0.1, "grid") }
        return try self.pictureTensor(Figure.grid(panels, columns: try a.optionalInt("cols"), title: try a.optionalString("title")))
      },
      Builtin("plot", category: cat,
              params: [P("y", .either([.recordOf(.numbers), .numbers]), "values; a record of series draws each with a legend"),
                       P("x", .numbers, "x positions (default 1, 2, …, n: the epochs of a loss history)", nilDefault),
                       P("title", .string, "a title", nilDefault), P("xlabel", .string, "the x axis's label", nilDefault),
                       P("ylabel", .string, "the y axis's label", nilDefault)],
              summary: "A line plot as an RGB image (round ticks, axis labels, title, legend): loss curves, ROC curves.",
              discussion: "Without x, the values are drawn at 1, 2, …, n, as the progress bar counts epochs; integer x values get integer ticks. Curves never lie on the frame.",
              example: "plot({train: [1, 0.6, 0.4, 0.3], test: [1.1, 0.8, 0.7, 0.65]}, title: \"loss\", xlabel: \"epoch\")") { [unowned self] a in
        let x = a.isNil("x") ? nil : try a.numbers("x")
        var series: [(name: String?, x: [Double], y: [Double])] = []
        func add(_ name: String?, _ y: [Double]) { series.append((name, x ?? y.indices.map { Double($0 + 1) }, y)) }
        if case .record(let r) = a["y"] {
          for (k, v) in r.pairs { add(k, Convert.numbers(v)) }
        } else { add(nil, try a.numbers("y")) }
        return try self.pictureTensor(Compose.plotFigure(series, title: try a.optionalString("title"),
                                                         xlabel: try a.optionalString("xlabel"), ylabel: try a.optionalString("ylabel")))
      },
      Builtin("show", category: cat,
              params: [P("x", .any, "an image, map, batch, list or record of them, or a plot"),
                       P("width", .integer(min: 4), "at most this many terminal columns wide (default: the window)", nilDefault),
                       P("height", .integer(min: 2), "at most this many terminal rows tall (default: three quarters of the window)", nilDefault)],
              summary: "Displays a picture inline, fitted to the window: sixel, kitty or iTerm2 graphics where the terminal speaks them, colour blocks elsewhere, PNG files when not on a terminal.",
              discussion: "The display mode comes from --display, RIAD_DISPLAY or :display (\(DisplayMode.allCases.map(\.rawValue).joined(separator: ", "))). Small pictures are scaled up by whole factors (crisp pixels), large ones scaled down to the window. Maps [H,W] are colour-mapped with a colour bar; batches and lists become grids; records become captioned panels. In blocks mode captions, titles, axis labels and legends print as text.",
              example: "show(rand([3, 16, 16], seed: 1), width: 20)") { [unowned self] a in
        try self.display.show(try self.figure(a["x"]), columns: try a.optionalInt("width"), rows: try a.optionalInt("height"))
        return .none
      },
    ]
  }
}

/// A `range: [lo, hi]` argument of the colour-map builtins.
func interval(_ a: Args) throws -> (Float, Float)? {
  try a.optionalPair("range").map { (Float($0.0), Float($0.1)) }
}
