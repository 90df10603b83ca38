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
      return Tensor(scalar: Float(s)).record("sum", [x]) { g in
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
    return Tensor(shape: s, data: out).record("sum", [x]) { g in
      [Broadcast.expand(Tensor(shape: kept, data: g.data), to: x.shape)]
    }
  }

  /// Mean of all elements or along `dim`.
  public func mean(dim: Int? = nil, keepDim: Bool = false) throws -> Tensor {
    let n = dim == nil ? count : shape[try axis(dim!, "mean")]
    return try sum(dim: dim, keepDim: keepDim) / Float(Swift.max(n, 1))
  }

  /// Largest element, or the largest along `dim`; the gradient flows to the
  /// first position that holds it.
  public func max(dim: Int? = nil, keepDim: Bool = false) throws -> Tensor {
    try extreme(dim: dim, keepDim: keepDim, name: "max", better: >)
  }

  /// Smallest element, or the smallest along `dim`.
  public func min(dim: Int? = nil, keepDim: Bool = false) throws -> Tensor {
    try extreme(dim: dim, keepDim: keepDim, name: "min", better: <)
  }

  /// Index of the largest element (flat), or of the largest along `dim`.
  public func argmax(dim: Int? = nil) throws -> Tensor {
    let (_, idx, s) = try extremeIndices(dim: dim, keepDim: false, name: "argmax", better: >)
    return Tensor(shape: s, data: idx.map { Float($0.local) })
  }

  private func extreme(dim: Int?, keepDim: Bool, name: String,
                       better: (Float, Float) -> Bool) throws -> Tensor {
    let x = self
    let (vals, idx, s) = try extremeIndices(dim: dim, keepDim: keepDim, name: name, better: better)
    return Tensor(shape: s, data: vals).record(name, [x]) { g in
      var gx = [Float](repeating: 0, count: x.count)
      for (j, i) in idx.enumerated() { gx[i.flat] += g.data[j] }
      return [Tensor(shape: x.shape, data: gx)]
    }
  }

  private func extremeIndices(dim: Int?, keepDim: Bool, name: String,
                              better: (Float, Float) -> Bool)
    throws -> ([Float], [(flat: Int, local: Int)], [Int]) {
    guard count > 0 else { throw TensorError("\(name): the tensor is empty") }
    guard let dim else {
      var best = 0
      for i in 1..<count where better(data[i], data[best]) || (data[best].isNaN && !data[i].isNaN) { best = i }
      return ([data[best]], [(best, best)], [])
    }
    let d = try axis(dim, name)
    let (outer, n, inner) = split(at: d)
    var vals: [Float] = [], idx: [(flat: Int, local: Int)] = []
    vals.reserveCapacity(outer * inner)
    for a in 0..<outer {
      for i in 0..<inner {
        var bestK = 0
        for k in 1..<Swift.max(n, 1) where better(data[(a * n + k) * inner + i], data[(a * n + bestK) * inner + i]) {
          bestK = k
        }
        let flat = (a * n + bestK) * inner + i
        vals.append(data[flat]); idx.append((flat, bestK))
      }
    }
    var s = shape
    if keepDim { s[d] = 1 } else { s.remove(at: d) }
    return (vals, idx, s)
  }
}

extension Broadcast {
  /// Repeats `t` along its extent-1 dimensions to `shape` (no autograd).
  static func expand(_ t: Tensor, to shape: [Int]) -> Tensor {
    if t.shape == shape { return t }
    return Tensor(shape: shape, data: zip(Tensor.zeros([]), t, shape) { $1 })
  }
}
