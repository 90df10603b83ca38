import Foundation
import RiadTensor

/// An n-d array of doubles whose every operation is written the plain way:
/// one loop over the multi-indices of the result, each element computed by
/// the definition (NumPy's and PyTorch's documented semantics). It shares no
/// code with riad, so riad's strided, blocked and parallel routines can be
/// checked against it. Slow, and meant to be.
public struct RefArray: CustomStringConvertible {
  public var shape: [Int]
  public var values: [Double]

  public init(shape: [Int], values: [Double]) {
    precondition(values.count == shape.reduce(1, *), "\(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
    self.shape = shape
    self.values = values
  }

  public init(_ t: Tensor) { self.init(shape: t.shape, values: t.data.map(Double.init)) }
  public init(scalar: Double) { self.init(shape: [], values: [scalar]) }

  public var count: Int { values.count }
  public var rank: Int { shape.count }
  public var tensor: Tensor { Tensor(shape: shape, data: values.map(Float.init)) }
  public var description: String { "RefArray(shape: \(shape), values: \(values))" }

  /// Every multi-index of `shape`, last dimension fastest.
  public static func indices(_ shape: [Int]) -> [[Int]] {
    if shape.contains(0) { return [] }
    var all: [[Int]] = [[]]
    for extent in shape {
      var next: [[Int]] = []
      for prefix in all { for i in 0..<extent { next.append(prefix + [i]) } }
      all = next
    }
    return all
  }

  /// The position of a multi-index in row-major order (Horner's scheme).
  public func flat(_ index: [Int]) -> Int {
    var f = 0
    for (i, extent) in Swift.zip(index, shape) { f = f * extent + i }
    return f
  }

  public subscript(_ index: [Int]) -> Double {
    get { values[flat(index)] }
    set { values[flat(index)] = newValue }
  }

  public static func filled(_ shape: [Int], _ v: Double) -> RefArray {
    RefArray(shape: shape, values: [Double](repeating: v, count: shape.reduce(1, *)))
  }

  // MARK: - Elementwise

  /// NumPy's broadcast: align the last dimensions; 1 (or missing) stretches.
  public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    let pa = [Int](repeating: 1, count: rank - a.count) + a
    let pb = [Int](repeating: 1, count: rank - b.count) + b
    var out: [Int] = []
    for (x, y) in Swift.zip(pa, pb) {
      if x == y { out.append(x) } else if x == 1 { out.append(y) } else if y == 1 { out.append(x) } else { return nil }
    }
    return out
  }

  /// The element of this array that output position `index` reads when this
  /// array is broadcast to an output of rank `index.count`.
  func broadcastRead(_ index: [Int]) -> Double {
    let lead = index.count - rank
    var own: [Int] = []
    for d in 0..<rank { own.append(shape[d] == 1 ? 0 : index[lead + d]) }
    return self[own]
  }

  public static func zip(_ a: RefArray, _ b: RefArray, _ f: (Double, Double) -> Double) -> RefArray? {
    guard let shape = broadcastShape(a.shape, b.shape) else { return nil }
    return RefArray(shape: shape, values: indices(shape).map { f(a.broadcastRead($0), b.broadcastRead($0)) })
  }

  public func map(_ f: (Double) -> Double) -> RefArray { RefArray(shape: shape, values: values.map(f)) }

  /// `self` read as `shape` (it must broadcast to it).
  public func expanded(to shape: [Int]) -> RefArray {
    RefArray(shape: shape, values: RefArray.indices(shape).map { broadcastRead($0) })
  }

  // MARK: - Reductions

  /// Folds each lane along `dim` (or everything) with `f`, which sees the
  /// lane's values in order; the dimension is dropped.
  public func reduce(dim: Int?, _ f: ([Double]) -> Double) -> RefArray {
    guard let dim else { return RefArray(scalar: f(values)) }
    var outShape = shape
    outShape.remove(at: dim)
    let out = RefArray.indices(outShape).map { o -> Double in
      var lane: [Double] = []
      for k in 0..<shape[dim] {
        var i = o
        i.insert(k, at: dim)
        lane.append(self[i])
      }
      return f(lane)
    }
    return RefArray(shape: outShape, values: out)
  }

  /// NumPy's `max`: NaN if any element is NaN, else the largest.
  public static func maxOf(_ lane: [Double]) -> Double {
    if lane.contains(where: \.isNaN) { return .nan }
    return lane.max()!
  }
  public static func minOf(_ lane: [Double]) -> Double {
    if lane.contains(where: \.isNaN) { return .nan }
    return lane.min()!
  }
  /// NumPy's `argmax`: the first NaN, else the first largest.
  public static func argmaxOf(_ lane: [Double]) -> Double {
    if let i = lane.firstIndex(where: \.isNaN) { return Double(i) }
    return Double(lane.firstIndex(of: lane.max()!)!)
  }
  public static func argminOf(_ lane: [Double]) -> Double {
    if let i = lane.firstIndex(where: \.isNaN) { return Double(i) }
    return Double(lane.firstIndex(of: lane.min()!)!)
  }

  // MARK: - Indexing

  /// One subscript: a position (drops the dimension) or a slice.
  public enum Sub: CustomStringConvertible {
    case at(Int)
    case slice(Int?, Int?, Int)

    public var description: String {
      switch self {
      case .at(let i): return String(i)
      case .slice(let a, let b, let s):
        return (a.map(String.init) ?? "") + ":" + (b.map(String.init) ?? "") + (s == 1 ? "" : ":\(s)")
      }
    }
  }

  /// The positions a Python slice selects in a dimension of extent n, by the
  /// rules of the language reference (`slice.indices`): clamp start and stop
  /// into [0, n] going up, [-1, n-1] going down, then step.
  public static func slicePositions(_ start: Int?, _ stop: Int?, _ step: Int, _ n: Int) -> [Int] {
    precondition(step != 0)
    let lower = step > 0 ? 0 : -1, upper = step > 0 ? n : n - 1
    func clamp(_ v: Int) -> Int {
      if v < 0 { return max(v + n, lower) }
      return min(v, upper)
    }
    let s = start.map(clamp) ?? (step > 0 ? lower : upper)
    let e = stop.map(clamp) ?? (step > 0 ? upper : lower)
    var out: [Int] = []
    var i = s
    while step > 0 ? i < e : i > e { out.append(i); i += step }
    return out
  }

  /// The positions selected in each dimension and whether it stays, or nil
  /// when an index is out of range or there are too many subscripts.
  public func selection(_ subs: [Sub]) -> (positions: [[Int]], kept: [Bool])? {
    guard subs.count <= rank else { return nil }
    var positions: [[Int]] = [], kept: [Bool] = []
    for d in 0..<rank {
      let sub = d < subs.count ? subs[d] : .slice(nil, nil, 1)
      switch sub {
      case .at(let i):
        let j = i < 0 ? i + shape[d] : i
        guard j >= 0 && j < shape[d] else { return nil }
        positions.append([j]); kept.append(false)
      case .slice(let a, let b, let s):
        positions.append(RefArray.slicePositions(a, b, s, shape[d])); kept.append(true)
      }
    }
    return (positions, kept)
  }

  /// `a[subs]`, or nil for an invalid subscript.
  public func indexed(_ subs: [Sub]) -> RefArray? {
    guard let (positions, kept) = selection(subs) else { return nil }
    let full = positions.map(\.count)
    let outShape = Swift.zip(full, kept).filter(\.1).map(\.0)
    let out = RefArray.indices(full).map { i in self[(0..<rank).map { positions[$0][i[$0]] }] }
    return RefArray(shape: outShape, values: out)
  }

  /// `a[subs] = value`, NumPy's rule: the value, without extra leading
  /// extents of 1, must broadcast to the selection. False when invalid.
  public mutating func assign(_ subs: [Sub], _ value: RefArray) -> Bool {
    guard let (positions, kept) = selection(subs) else { return false }
    let full = positions.map(\.count)
    let selShape = Swift.zip(full, kept).filter(\.1).map(\.0)
    var v = value
    while v.rank > selShape.count && v.shape.first == 1 { v = RefArray(shape: Array(v.shape.dropFirst()), values: v.values) }
    guard let b = RefArray.broadcastShape(selShape, v.shape), b == selShape else { return false }
    let spread = v.expanded(to: selShape)
    for (k, i) in RefArray.indices(full).enumerated() {
      self[(0..<rank).map { positions[$0][i[$0]] }] = spread.values[k]
    }
    return true
  }

  // MARK: - Shapes

  public func reshaped(_ s: [Int]) -> RefArray { RefArray(shape: s, values: values) }

  public func permuted(_ order: [Int]) -> RefArray {
    let outShape = order.map { shape[$0] }
    let out = RefArray.indices(outShape).map { o -> Double in
      var i = [Int](repeating: 0, count: rank)
      for (k, d) in order.enumerated() { i[d] = o[k] }
      return self[i]
    }
    return RefArray(shape: outShape, values: out)
  }

  public static func cat(_ parts: [RefArray], dim: Int) -> RefArray {
    var shape = parts[0].shape
    shape[dim] = parts.map { $0.shape[dim] }.reduce(0, +)
    let out = indices(shape).map { o -> Double in
      var i = o, part = 0
      while i[dim] >= parts[part].shape[dim] { i[dim] -= parts[part].shape[dim]; part += 1 }
      return parts[part][i]
    }
    return RefArray(shape: shape, values: out)
  }

  public static func stack(_ parts: [RefArray], dim: Int) -> RefArray {
    var s = parts[0].shape
    s.insert(1, at: dim)
    return cat(parts.map { $0.reshaped(s) }, dim: dim)
  }

  public static func matmul(_ a: RefArray, _ b: RefArray) -> RefArray {
    let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
    var out = RefArray.filled([m, n], 0)
    for i in 0..<m { for j in 0..<n { for p in 0..<k { out[[i, j]] += a[[i, p]] * b[[p, j]] } } }
    return out
  }

  // MARK: - Images [N,C,H,W]

  /// PyTorch's avg_pool2d with count_include_pad: the window sum over the
  /// zero-padded input divided by k².
  public func avgPool(_ k: Int, stride s: Int, padding p: Int) -> RefArray {
    let (h, w) = (shape[2], shape[3])
    let ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1
    var out = RefArray.filled([shape[0], shape[1], ho, wo], 0)
    for o in RefArray.indices(out.shape) {
      var total = 0.0
      for u in 0..<k { for v in 0..<k {
        let y = o[2] * s - p + u, x = o[3] * s - p + v
        if y >= 0 && y < h && x >= 0 && x < w { total += self[[o[0], o[1], y, x]] }
      } }
      out[o] = total / Double(k * k)
    }
    return out
  }

  /// max_pool2d: NaN if the window holds one, else the largest.
  public func maxPool(_ k: Int, stride s: Int) -> RefArray {
    let ho = (shape[2] - k) / s + 1, wo = (shape[3] - k) / s + 1
    var out = RefArray.filled([shape[0], shape[1], ho, wo], 0)
    for o in RefArray.indices(out.shape) {
      var window: [Double] = []
      for u in 0..<k { for v in 0..<k { window.append(self[[o[0], o[1], o[2] * s + u, o[3] * s + v]]) } }
      out[o] = RefArray.maxOf(window)
    }
    return out
  }

  /// F.interpolate with align_corners=False: the source coordinate of an
  /// output pixel uses scale = in/out in float32 (or 1/scale_factor when
  /// one was given); nearest floors it, bilinear blends the two neighbours
  /// of (dst + ½)·scale − ½, clamped at 0; a side that keeps its size is copied.
  public func upsample(_ oh: Int, _ ow: Int, mode: String, scaleFactor: Double? = nil) -> RefArray {
    let (h, w) = (shape[2], shape[3])
    func scale(_ input: Int, _ output: Int) -> Float {
      if let f = scaleFactor { return Float(1 / f) }
      return Float(input) / Float(output)
    }
    func taps(_ o: Int, _ input: Int, _ output: Int) -> [(Int, Double)] {
      let sc = scale(input, output)
      if mode == "nearest" { return [(min(Int((Float(o) * sc).rounded(.down)), input - 1), 1)] }
      if input == output && scaleFactor == nil { return [(o, 1)] }   // PyTorch leaves an unchanged side alone
      let src = max(sc * (Float(o) + 0.5) - 0.5, 0)
      let i0 = Int(src.rounded(.down))
      let lambda = Double(src) - Double(i0)
      return [(min(i0, input - 1), 1 - lambda), (min(i0 + 1, input - 1), lambda)]
    }
    var out = RefArray.filled([shape[0], shape[1], oh, ow], 0)
    for o in RefArray.indices(out.shape) {
      var v = 0.0
      for (y, wy) in taps(o[2], h, oh) { for (x, wx) in taps(o[3], w, ow) { v += wy * wx * self[[o[0], o[1], y, x]] } }
      out[o] = v
    }
    return out
  }

  /// A size×size box mean that averages only the pixels inside the image.
  public func meanFilter(_ size: Int) -> RefArray {
    let r = size / 2, (h, w) = (shape[2], shape[3])
    var out = RefArray.filled(shape, 0)
    for o in RefArray.indices(shape) {
      var total = 0.0, n = 0
      for y in (o[2] - r)...(o[2] + r) where y >= 0 && y < h {
        for x in (o[3] - r)...(o[3] + r) where x >= 0 && x < w { total += self[[o[0], o[1], y, x]]; n += 1 }
      }
      out[o] = total / Double(n)
    }
    return out
  }
}

extension RefArray {
  /// Each plane of `[N,C,H,W]` correlated with the K×K kernel
  /// `taps[a]·taps[b]` (zero padding K/2, output the input's size): the
  /// definition, one double sum of K² terms per pixel.
  public func filtered(_ taps: [Double]) -> RefArray {
    let r = taps.count / 2, (h, w) = (shape[2], shape[3])
    var out = RefArray.filled(shape, 0)
    for o in RefArray.indices(shape) {
      var total = 0.0
      for a in 0..<taps.count { for b in 0..<taps.count {
        let y = o[2] + a - r, x = o[3] + b - r
        if y >= 0 && y < h && x >= 0 && x < w { total += taps[a] * taps[b] * self[[o[0], o[1], y, x]] }
      } }
      out[o] = total
    }
    return out
  }
}

/// Python's `%` for floats: the exact remainder of truncated division
/// (fmod), moved to the divisor's side (CPython's float_rem); NaN for 0.
public func referenceMod(_ a: Double, _ b: Double) -> Double {
  let r = fmod(a, b)
  return r != 0 && (r < 0) != (b < 0) ? r + b : r
}

/// Elements agree: both NaN, the same infinity, or within atol + rtol·|expected|.
public func referenceClose(_ actual: Double, _ expected: Double, atol: Double, rtol: Double) -> Bool {
  if expected.isNaN { return actual.isNaN }
  if expected.isInfinite || actual.isInfinite { return actual == expected }
  return abs(actual - expected) <= atol + rtol * abs(expected)
}

/// The first element where `actual` and `expected` disagree, as a message,
/// or nil when they agree in shape and every value.
public func referenceMismatch(_ actual: Tensor, _ expected: RefArray, atol: Double = 1e-6, rtol: Double = 1e-5) -> String? {
  guard actual.shape == expected.shape else { return "shape \(actual.shape) differs from \(expected.shape)" }
  for i in 0..<expected.count where !referenceClose(Double(actual.data[i]), expected.values[i], atol: atol, rtol: rtol) {
    return "element \(i): \(actual.data[i]), expected \(expected.values[i])"
  }
  return nil
}
