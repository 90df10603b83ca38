import RiadTensor

/// Operations on image tensors (`[C,H,W]` or batches `[N,C,H,W]`, maps `[H,W]`).
public enum ImageOps {
  /// One output sample's input taps along one axis.
  typealias Taps = [(index: Int, weight: Float)]

  /// Area averaging when shrinking (each output pixel averages the input
  /// area it covers); bilinear with half-pixel centres when enlarging.
  static func taps(_ n: Int, _ out: Int) -> [Taps] {
    let scale = Double(n) / Double(out)
    return (0..<out).map { o in
      if out < n {
        let a = Double(o) * scale, b = Double(o + 1) * scale
        var t: Taps = []
        var i = Int(a)
        while Double(i) < b && i < n {
          let cover = min(b, Double(i + 1)) - max(a, Double(i))
          if cover > 1e-12 { t.append((i, Float(cover / scale))) }
          i += 1
        }
        return t
      }
      let src = max((Double(o) + 0.5) * scale - 0.5, 0)
      let i0 = min(Int(src), n - 1), i1 = min(i0 + 1, n - 1)
      let l = Float(src - Double(i0))
      return [(i0, 1 - l), (i1, l)]
    }
  }

  /// Resizes the last two dimensions to `[h, w]`.
  public static func resize(_ t: Tensor, height h: Int, width w: Int) throws -> Tensor {
    guard t.rank >= 2 else { throw TensorError("resize: expected an image [C,H,W], a batch or a map [H,W], got \(t.shape.shapeString)") }
    guard h > 0, w > 0 else { throw TensorError("resize: size must be positive, got [\(h), \(w)]") }
    let (ih, iw) = (t.shape[t.rank - 2], t.shape[t.rank - 1])
    if ih == h && iw == w { return t.copy() }
    let planes = t.count / max(ih * iw, 1)
    let ty = taps(ih, h), tx = taps(iw, w)
    var out = [Float](repeating: 0, count: planes * h * w)
    var tmp = [Float](repeating: 0, count: ih * w)
    for p in 0..<planes {
      let base = p * ih * iw
      for y in 0..<ih { for x in 0..<w {
        var s: Float = 0
        for (i, wt) in tx[x] { s += wt * t.data[base + y * iw + i] }
        tmp[y * w + x] = s
      } }
      for y in 0..<h { for x in 0..<w {
        var s: Float = 0
        for (i, wt) in ty[y] { s += wt * tmp[i * w + x] }
        out[p * h * w + y * w + x] = s
      } }
    }
    var shape = t.shape
    shape[t.rank - 2] = h; shape[t.rank - 1] = w
    return Tensor(shape: shape, data: out)
  }

  /// Luma (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B) of `[3,H,W]` or
  /// `[N,3,H,W]`; one-channel input is returned as is.
  public static func toGray(_ t: Tensor) throws -> Tensor {
    let cDim = t.rank == 4 ? 1 : 0
    guard t.rank == 3 || t.rank == 4 else { throw TensorError("to_gray: expected [C,H,W] or [N,C,H,W], got \(t.shape.shapeString)") }
    let c = t.shape[cDim]
    if c == 1 { return t.copy() }
    guard c == 3 || c == 4 else { throw TensorError("to_gray: expected 1, 3 or 4 channels, got \(c)") }
    let n = t.rank == 4 ? t.shape[0] : 1, p = t.shape[cDim + 1] * t.shape[cDim + 2]
    var out = [Float](repeating: 0, count: n * p)
    for i in 0..<n { for k in 0..<p {
      let b = i * c * p
      out[i * p + k] = 0.299 * t.data[b + k] + 0.587 * t.data[b + p + k] + 0.114 * t.data[b + 2 * p + k]
    } }
    var s = t.shape; s[cDim] = 1
    return Tensor(shape: s, data: out)
  }

  /// A map `[H,W]` (or `[1,H,W]`, `[1,1,H,W]`) as an RGB image `[3,H,W]`.
  /// `range` fixes the values mapped to the ends; by default the map's own.
  public static func heatmap(_ map: Tensor, cmap: Colormap = .jet, range: (Float, Float)? = nil) throws -> Tensor {
    let (h, w) = try mapSize(map, "heatmap")
    var lo: Float, hi: Float
    if let range { (lo, hi) = range } else {
      lo = map.data.filter { !$0.isNaN }.min() ?? 0
      hi = map.data.filter { !$0.isNaN }.max() ?? 1
    }
    let span = hi - lo
    var out = [Float](repeating: 0, count: 3 * h * w)
    for p in 0..<(h * w) {
      let v = span > 0 ? (map.data[p] - lo) / span : 0
      let (r, g, b) = cmap.rgb(v)
      out[p] = r; out[h * w + p] = g; out[2 * h * w + p] = b
    }
    return Tensor(shape: [3, h, w], data: out)
  }

  /// `(1 − alpha)·image + alpha·heatmap(map)`, an RGB image.
  public static func overlay(_ image: Tensor, _ map: Tensor, alpha: Float = 0.5, cmap: Colormap = .jet,
                             range: (Float, Float)? = nil) throws -> Tensor {
    let (h, w) = try mapSize(map, "overlay")
    let img = image.rank == 2 ? try image.reshaped([1, h, w]) : image
    guard img.rank == 3, img.shape[1] == h, img.shape[2] == w, [1, 3, 4].contains(img.shape[0]) else {
      throw TensorError("overlay: image \(image.shape.shapeString) does not match the map's size \(h)×\(w)")
    }
    let heat = try heatmap(map, cmap: cmap, range: range)
    var out = [Float](repeating: 0, count: 3 * h * w)
    for k in 0..<3 { for p in 0..<(h * w) {
      let base = img.data[(img.shape[0] == 1 ? 0 : k) * h * w + p]
      out[k * h * w + p] = (1 - alpha) * base + alpha * heat.data[k * h * w + p]
    } }
    return Tensor(shape: [3, h, w], data: out)
  }

  /// The height and width of a single map, accepting leading extents of 1.
  public static func mapSize(_ map: Tensor, _ op: String) throws -> (Int, Int) {
    guard map.rank >= 2, map.shape.dropLast(2).allSatisfy({ $0 == 1 }) else {
      throw TensorError("\(op): expected one map [H,W] (or [1,H,W], [1,1,H,W]), got \(map.shape.shapeString)")
    }
    return (map.shape[map.rank - 2], map.shape[map.rank - 1])
  }
}
