import RiadTensor

/// Pictures built from parts, drawn at once (for builtins that return a
/// picture as a tensor: `grid`, `plot`, `explain`). `show` keeps the parts
/// as a `Figure` instead, so text terminals can print the words as text.
public enum Compose {
  /// Captioned panels in rows of `cols` (default up to 6, near-square),
  /// scaled by one whole factor so that the largest is at least `minSide`.
  public static func grid(_ panels: [(caption: String?, image: RGBImage)], cols: Int? = nil, minSide: Int = 128) throws -> RGBImage {
    try Figure.grid(panels.map { Figure.Panel(caption: $0.caption, image: $0.image) }, columns: cols, minSide: minSide).drawn()
  }

  /// A line plot: frame, round ticks, one colour per series, a legend when
  /// there is more than one named series, a title and axis labels.
  public static func plot(_ series: [(name: String?, x: [Double], y: [Double])], title: String? = nil,
                          xlabel: String? = nil, ylabel: String? = nil, width: Int = 480, height: Int = 320) throws -> RGBImage {
    try plotFigure(series, title: title, xlabel: xlabel, ylabel: ylabel, width: width, height: height).drawn()
  }

  public static func plotFigure(_ series: [(name: String?, x: [Double], y: [Double])], title: String? = nil,
                                xlabel: String? = nil, ylabel: String? = nil, width: Int = 480, height: Int = 320) -> Figure {
    let plot = Figure.Plot(series: series.map { Figure.Series(name: $0.name, x: $0.x, y: $0.y) }, xlabel: xlabel, ylabel: ylabel)
    return Figure(title: title, .plot(plot, width: width, height: height))
  }
}
