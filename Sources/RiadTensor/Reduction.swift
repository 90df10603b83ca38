/// Reductions over all elements or along one dimension.
extension Tensor {
  /// Normalizes a possibly negative dimension index, naming `op` on failure.
  public func axis(_ dim: Int, _ op: String) throws -> Int {
    let d = dim < 0 ? dim + rank : dim
    guard d >= 0 && d < rank else {
      throw TensorError("\(op): dim \(dim) is out of range for a tensor of rank \(rank) (shape \(shape.shapeString))")
    }
    return d
  }

  /// The sizes before, along and after dimension `d`.
  func split(at d: Int) -> (outer: Int, n: Int, inner: Int) {
    (shape[..<d].reduce(1, *), shape[d], shape[(d + 1)...].reduce(1, *))
  }

  /// Sum of all elements (`dim: nil`) or along `dim`.
  public func sum(dim: Int? = nil, keepDim: Bool = false) throws -> Tensor {
    let x = self
    guard let dim else {
      var s: Double = 0
      data.withUnsafeBufferPointer { p in if let base = p.baseAddress { s = sumOf(base, p.count) } }
      return Tensor(scalar: Float(s)).record("sum", [x], reads: []) { g in
        [Tensor(shape: x.shape, repeating: g.data[0])]
      }
    }
    let d = try axis(dim, "sum")
    let (outer, n, inner) = split(at: d)
    var out = [Float](repeating: 0, count: outer * inner)
    data.withUnsafeBufferPointer { p in
      out.withUnsafeMutableBufferPointer { o in
        for a in 0..<outer {
          for k in 0..<n {
            let base = (a * n + k) * inner
            for i in 0..<inner { o[a * inner + i] += p[base + i] }
          }
        }
      }
    }
    var s = shape
    if keepDim { s[d] = 1 } else { s.remove(at: d) }
    var kept = shape; kept[d] = 1
    return Tensor(shape: s, data: out).record("sum", [x], reads: []) { g in
      [Broadcast.expand(Tensor(shape: kept, data: g.data), to: x.shape)]
    }
  }

  /// Mean of all elements or along `dim`; NaN for no elements, as NumPy
  /// and PyTorch.
  public func mean(dim: Int? = nil, keepDim: Bool = false) throws -> Tensor {
    let n = dim == nil ? count : shape[try axis(dim!, "mean")]
    return try sum(dim: dim, keepDim: keepDim) / Float(n)
  }

  /// Largest element, or the largest along `dim`. NaN wins over every
  /// number (NumPy's and PyTorch's propagation). The gradient of the whole
  /// maximum is shared evenly by the elements that equal it; along `dim` it
  /// goes to the first one (PyTorch's rules).
  public func max(dim: Int? = nil, keepDim: Bool = false) throws -> Tensor {
    try extreme(dim: dim, keepDim: keepDim, name: "max", better: >)
  }

  /// Smallest element, or the smallest along `dim`; NaN as in `max`.
  public func min(dim: Int? = nil, keepDim: Bool = false) throws -> Tensor {
    try extreme(dim: dim, keepDim: keepDim, name: "min", better: <)
  }

  /// Index of the largest element (flat), or of the largest along `dim`:
  /// the first one, and the first NaN when there is one.
  public func argmax(dim: Int? = nil) throws -> Tensor {
    let (_, idx, s) = try extremeIndices(dim: dim, keepDim: false, name: "argmax", better: >)
    return Tensor(shape: s, data: idx.map { Float($0.local) })
  }

  /// Index of the smallest element (flat), or of the smallest along `dim`.
  public func argmin(dim: Int? = nil) throws -> Tensor {
    let (_, idx, s) = try extremeIndices(dim: dim, keepDim: false, name: "argmin", better: <)
    return Tensor(shape: s, data: idx.map { Float($0.local) })
  }

  private func extreme(dim: Int?, keepDim: Bool, name: String,
                       better: (Float, Float) -> Bool) throws -> Tensor {
    let x = self
    let (vals, idx, s) = try extremeIndices(dim: dim, keepDim: keepDim, name: name, better: better)
    let y = Tensor(shape: s, data: vals)
    if dim == nil {
      // Every element equal to the result (NaN to NaN) shares the gradient.
      let v = vals[0]
      return y.record(name, [x], reads: .inputs) { g in
        let ties = x.data.reduce(0) { $0 + ($1 == v || ($1.isNaN && v.isNaN) ? 1 : 0) }
        let share = g.data[0] / Float(ties)
        return [x.map { $0 == v || ($0.isNaN && v.isNaN) ? share : 0 }]
      }
    }
    return y.record(name, [x], reads: []) { g in
      var gx = [Float](repeating: 0, count: x.count)
      for (j, i) in idx.enumerated() { gx[i.flat] += g.data[j] }
      return [Tensor(shape: x.shape, data: gx)]
    }
  }

  /// The position of the extreme of each lane: the first that no later one
  /// beats, or the first NaN.
  private func extremeIndices(dim: Int?, keepDim: Bool, name: String,
                              better: (Float, Float) -> Bool)
    throws -> ([Float], [(flat: Int, local: Int)], [Int]) {
    @inline(__always) func pick(_ n: Int, _ at: (Int) -> Float) -> Int {
      var best = 0
      var b = at(0)
      if b.isNaN { return 0 }
      for k in 1..<Swift.max(n, 1) {
        let v = at(k)
        if v.isNaN { return k }
        if better(v, b) { best = k; b = v }
      }
      return best
    }
    guard let dim else {
      guard count > 0 else { throw TensorError("\(name): the tensor is empty (shape \(shape.shapeString))") }
      let best = data.withUnsafeBufferPointer { p in pick(count) { p[$0] } }
      return ([data[best]], [(best, best)], [])
    }
    let d = try axis(dim, name)
    let (outer, n, inner) = split(at: d)
    // A lane of no elements has no extreme (even when there are no lanes,
    // as NumPy and PyTorch say); no lanes of some elements is an empty result.
    guard n > 0 else {
      throw TensorError("\(name): dim \(dim) of shape \(shape.shapeString) is empty")
    }
    var vals: [Float] = [], idx: [(flat: Int, local: Int)] = []
    vals.reserveCapacity(outer * inner)
    idx.reserveCapacity(outer * inner)
    data.withUnsafeBufferPointer { p in
      for a in 0..<outer {
        for i in 0..<inner {
          let bestK = pick(n) { p[(a * n + $0) * inner + i] }
          let flat = (a * n + bestK) * inner + i
          vals.append(p[flat]); idx.append((flat, bestK))
        }
      }
    }
    var s = shape
    if keepDim { s[d] = 1 } else { s.remove(at: d) }
    return (vals, idx, s)
  }
}
