/// NumPy broadcasting: shapes align at their last dimension, and a dimension
/// of extent 1 (or a missing one) stretches to match the other.
enum Broadcast {
  /// The shape two operands broadcast to, or nil when they cannot.
  static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
      let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
      let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
      if x == y || y == 1 { out[i] = x } else if x == 1 { out[i] = y } else { return nil }
    }
    return out
  }

  /// Element strides of a contiguous `shape` read as `out`: 0 where it stretches.
  static func strides(_ shape: [Int], to out: [Int]) -> [Int] {
    var strides = [Int](repeating: 0, count: out.count)
    var step = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
      let o = i + out.count - shape.count
      strides[o] = shape[i] == 1 ? 0 : step
      step *= shape[i]
    }
    return strides
  }

  /// Applies `f` elementwise over the broadcast of `a` and `b` to `out`
  /// (which must be `shape(a.shape, b.shape)`). An operand with as many
  /// elements as `out` is not stretched, so it is read in order; one with a
  /// single element is read once; anything else takes the odometer loop.
  @inline(__always)
  static func zip(_ a: Tensor, _ b: Tensor, _ out: [Int], _ f: (Float, Float) -> Float) -> [Float] {
    let n = out.product
    // Invariant: every branch writes po[0..<n] exactly once.
    return makeFloats(n) { po in
    a.data.withUnsafeBufferPointer { pa in
      b.data.withUnsafeBufferPointer { pb in
          if n == 0 { return }
          if a.count == n && b.count == n {
            for i in 0..<n { po[i] = f(pa[i], pb[i]) }
          } else if b.count == 1 && a.count == n {
            let y = pb[0]
            for i in 0..<n { po[i] = f(pa[i], y) }
          } else if a.count == 1 && b.count == n {
            let x = pa[0]
            for i in 0..<n { po[i] = f(x, pb[i]) }
          } else {
            general(pa, strides(a.shape, to: out), pb, strides(b.shape, to: out), po, out, f)
          }
      }
    }
    }
  }

  /// The odometer loop for arbitrary broadcasts: the last dimension is the
  /// inner loop, the others advance like the digits of a counter.
  @inline(__always)
  private static func general(_ pa: UnsafeBufferPointer<Float>, _ sa: [Int],
                              _ pb: UnsafeBufferPointer<Float>, _ sb: [Int],
                              _ po: UnsafeMutableBufferPointer<Float>, _ out: [Int],
                              _ f: (Float, Float) -> Float) {
    let rank = out.count
    let inner = out[rank - 1], ia = sa[rank - 1], ib = sb[rank - 1]
    var index = [Int](repeating: 0, count: rank)
    var offA = 0, offB = 0, o = 0
    let total = out.product
    while o < total {
      var ja = offA, jb = offB
      for _ in 0..<inner {
        po[o] = f(pa[ja], pb[jb]); o += 1; ja += ia; jb += ib
      }
      var d = rank - 2
      while d >= 0 {
        index[d] += 1; offA += sa[d]; offB += sb[d]
        if index[d] < out[d] { break }
        offA -= sa[d] * out[d]; offB -= sb[d] * out[d]; index[d] = 0
        d -= 1
      }
      if d < 0 { break }
    }
  }

  /// Sums `g` (of a broadcast shape) back down to `shape`: the gradient of a
  /// broadcast is the sum over the dimensions it stretched.
  static func reduce(_ g: Tensor, to shape: [Int]) -> Tensor {
    if g.shape == shape { return g }
    var result = [Float](repeating: 0, count: shape.product)
    let out = g.shape
    let st = strides(shape, to: out)
    let rank = out.count
    g.data.withUnsafeBufferPointer { pg in
      result.withUnsafeMutableBufferPointer { pr in
        if rank == 0 { pr[0] = pg[0]; return }
        var index = [Int](repeating: 0, count: rank)
        var off = 0
        let inner = out[rank - 1], si = st[rank - 1]
        var o = 0
        let total = out.product
        while o < total {
          var j = off
          for _ in 0..<inner { pr[j] += pg[o]; o += 1; j += si }
          var d = rank - 2
          while d >= 0 {
            index[d] += 1; off += st[d]
            if index[d] < out[d] { break }
            off -= st[d] * out[d]; index[d] = 0
            d -= 1
          }
          if d < 0 { break }
        }
      }
    }
    return Tensor(shape: shape, data: result)
  }
}

extension Broadcast {
  /// Repeats `t` along its extent-1 (or missing) dimensions to `shape`,
  /// which `t` must broadcast to (no autograd).
  static func expand(_ t: Tensor, to shape: [Int]) -> Tensor {
    if t.shape == shape { return t }
    if t.count == shape.product { return Tensor(shape: shape, data: t.data) }
    // A one-element operand of full rank reads as zero strides everywhere.
    let anchor = Tensor(shape: [Int](repeating: 1, count: shape.count), data: [0])
    return Tensor(shape: shape, data: zip(anchor, t, shape) { $1 })
  }
}
