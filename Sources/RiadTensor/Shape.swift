/// Shape changes, indexing, slicing and joining.

/// One index in a subscript: a single position (drops the dimension) or a
/// Python-style slice `start:stop:step` (keeps it). nil bounds mean "from the
/// start" / "to the end" in the direction of the step.
public enum TensorIndex: Equatable {
  case at(Int)
  case slice(start: Int?, stop: Int?, step: Int)
  public static let all = TensorIndex.slice(start: nil, stop: nil, step: 1)
}

extension Tensor {
  // MARK: - Reshape and permute

  /// The same values in a new shape; one extent may be -1 (inferred).
  public func reshaped(_ newShape: [Int]) throws -> Tensor {
    var s = newShape
    let unknown = s.indices.filter { s[$0] == -1 }
    if unknown.count > 1 { throw TensorError("reshape: at most one extent may be -1, got \(newShape.shapeString)") }
    if let u = unknown.first {
      let known = s.enumerated().filter { $0.offset != u }.map(\.element).product
      guard known > 0, count % known == 0 else {
        throw TensorError("reshape: cannot reshape \(shape.shapeString) (\(count) elements) into \(newShape.shapeString)")
      }
      s[u] = count / known
    }
    guard s.allSatisfy({ $0 >= 0 }), s.product == count else {
      throw TensorError("reshape: cannot reshape \(shape.shapeString) (\(count) elements) into \(newShape.shapeString)")
    }
    let x = self
    return Tensor(shape: s, data: data).record("reshape", [x], reads: []) { g in
      [Tensor(shape: x.shape, data: g.data)]
    }
  }

  /// Reorders the dimensions: result dimension i is this tensor's `order[i]`.
  public func permuted(_ order: [Int]) throws -> Tensor {
    guard order.count == rank, Set(order) == Set(0..<rank) else {
      throw TensorError("permute: order \(order.shapeString) is not a permutation of 0..<\(rank) for shape \(shape.shapeString)")
    }
    let x = self
    let out = permuteData(order)
    var inverse = [Int](repeating: 0, count: rank)
    for (i, o) in order.enumerated() { inverse[o] = i }
    return out.record("permute", [x], reads: []) { g in [g.permuteData(inverse)] }
  }

  func permuteData(_ order: [Int]) -> Tensor {
    let st = strides
    let offsets = order.map { d in (0..<shape[d]).map { $0 * st[d] } }
    let newShape = order.map { shape[$0] }
    return Tensor(shape: newShape, data: gather(offsets))
  }

  /// Collects `data[Σ offsets[d][i_d]]` for every multi-index, in row-major order.
  func gather(_ offsets: [[Int]]) -> [Float] {
    let n = offsets.reduce(1) { $0 * $1.count }
    // The runs cover the n selected elements in order, each copied to o[k..<k+count] once.
    return makeFloats(n) { o in
      data.withUnsafeBufferPointer { p in
        var k = 0
        Tensor.forEachRun(offsets) { off, count in
          (o.baseAddress! + k).update(from: p.baseAddress! + off, count: count)
          k += count
        }
      }
    }
  }

  // MARK: - Subscripts

  /// The positions each subscript selects, and whether the dimension stays.
  func resolve(_ subscripts: [TensorIndex]) throws -> (positions: [[Int]], kept: [Bool]) {
    guard subscripts.count <= rank else {
      throw TensorError("index: \(subscripts.count) indices for a tensor of rank \(rank) (shape \(shape.shapeString))")
    }
    var positions: [[Int]] = [], kept: [Bool] = []
    for d in 0..<rank {
      let n = shape[d]
      switch d < subscripts.count ? subscripts[d] : .all {
      case .at(let i):
        let j = i < 0 ? i + n : i
        guard j >= 0 && j < n else {
          throw TensorError("index \(i) is out of range for dimension \(d) of extent \(n) (shape \(shape.shapeString))")
        }
        positions.append([j]); kept.append(false)
      case .slice(let start, let stop, let step):
        guard step != 0 else { throw TensorError("slice step cannot be zero") }
        positions.append(Tensor.slicePositions(n, start, stop, step)); kept.append(true)
      }
    }
    return (positions, kept)
  }

  /// Python's slice semantics for one dimension of extent `n`.
  static func slicePositions(_ n: Int, _ start: Int?, _ stop: Int?, _ step: Int) -> [Int] {
    func clampIndex(_ v: Int, _ lo: Int, _ hi: Int) -> Int {
      let w = v < 0 ? v + n : v
      return Swift.min(Swift.max(w, lo), hi)
    }
    if step > 0 {
      let a = start.map { clampIndex($0, 0, n) } ?? 0
      let b = stop.map { clampIndex($0, 0, n) } ?? n
      return a < b ? Array(stride(from: a, to: b, by: step)) : []
    } else {
      let a = start.map { clampIndex($0, -1, n - 1) } ?? n - 1
      let b = stop.map { clampIndex($0, -1, n - 1) } ?? -1
      return a > b ? Array(stride(from: a, to: b, by: step)) : []
    }
  }

  private var strides: [Int] {
    var s = [Int](repeating: 1, count: rank)
    if rank > 1 { for d in stride(from: rank - 2, through: 0, by: -1) { s[d] = s[d + 1] * shape[d + 1] } }
    return s
  }

  /// `t[i, a:b, ::s]`: integers drop their dimension, slices keep it.
  public func indexed(_ subscripts: [TensorIndex]) throws -> Tensor {
    let (positions, kept) = try resolve(subscripts)
    let st = strides
    let offsets = positions.enumerated().map { d, ps in ps.map { $0 * st[d] } }
    let values = gather(offsets)
    let outShape = zip(positions.map(\.count), kept).filter(\.1).map(\.0)
    let x = self
    return Tensor(shape: outShape, data: values).record("index", [x], reads: []) { g in
      // Selected positions are distinct (slices and integers never repeat
      // one), so each run's gradient is stored, not added.
      var gx = [Float](repeating: 0, count: x.count)
      gx.withUnsafeMutableBufferPointer { px in
        g.data.withUnsafeBufferPointer { pg in
          var k = 0
          Tensor.forEachRun(offsets) { off, count in
            (px.baseAddress! + off).update(from: pg.baseAddress! + k, count: count)
            k += count
          }
        }
      }
      return [Tensor(shape: x.shape, data: gx)]
    }
  }

  /// Writes `value` (broadcast to the selection) into the selected elements,
  /// in place: `img[:, 10:20, 10:20] = 0`. As in NumPy, the value may have
  /// extra leading dimensions of extent 1.
  ///
  /// Autograd sees the write. When the tensor or the value takes part in a
  /// graph, the tensor gets a new node, `assign`, whose gradient is the
  /// incoming one with the selection zeroed (to the old values) and the
  /// selection summed down to the value's shape (to the value). A parameter
  /// (a leaf) may be edited with plain values; writing a value computed from
  /// parameters into one is refused, since a leaf has no history to extend.
  public func assign(_ subscripts: [TensorIndex], _ value: Tensor) throws {
    let (positions, kept) = try resolve(subscripts)
    let st = strides
    let offsets = positions.enumerated().map { d, ps in ps.map { $0 * st[d] } }
    let selShape = zip(positions.map(\.count), kept).filter(\.1).map(\.0)
    var valueShape = value.shape
    while valueShape.count > selShape.count, valueShape.first == 1 { valueShape.removeFirst() }
    guard let b = Broadcast.shape(selShape, valueShape), b == selShape else {
      throw TensorError("index assignment: a value of shape \(value.shape.shapeString) does not fit the selection \(selShape.shapeString)")
    }
    let recording = GradMode.isEnabled && (requiresGrad || value.requiresGrad)
    if recording && requiresGrad && node == nil && value.requiresGrad {
      throw TensorError("index assignment: cannot write a value computed from parameters into a parameter (a leaf of autograd); write into a copy instead: y = w * 1, then y[...] = value")
    }
    let v = Broadcast.expand(Tensor(shape: valueShape, data: value.data), to: selShape).data
    update { p in
      v.withUnsafeBufferPointer { pv in
        var k = 0
        Tensor.forEachRun(offsets) { off, count in
          (p.baseAddress! + off).update(from: pv.baseAddress! + k, count: count)
          k += count
        }
      }
    }
    // A parameter edited with plain values stays a leaf (like an optimizer step).
    guard recording, !(requiresGrad && node == nil) else { return }
    let (shape, vShape) = (self.shape, value.shape)
    let previous = GradEdge(self)
    requiresGrad = true
    node = GradNode(op: "assign", inputs: [value], edges: [previous, GradEdge(value)], reads: [], output: nil) { g in
      var kept = g.data, picked: [Float] = []
      picked.reserveCapacity(selShape.product)
      kept.withUnsafeMutableBufferPointer { pk in
        Tensor.forEachRun(offsets) { off, count in
          picked.append(contentsOf: UnsafeBufferPointer(start: pk.baseAddress! + off, count: count))
          (pk.baseAddress! + off).update(repeating: 0, count: count)
        }
      }
      let gv = Broadcast.reduce(Tensor(shape: selShape, data: picked), to: valueShape)
      return [Tensor(shape: shape, data: kept), Tensor(shape: vShape, data: gv.data)]
    }
  }

  /// Calls `body(offset, count)` for runs of consecutive elements that
  /// together are `Σ offsets[d][i_d]` for every multi-index, in row-major
  /// order (`offsets[d]`: one dimension's selected positions times its
  /// stride). Trailing dimensions join the run while their offsets step by
  /// the run's length so far: the last one when its positions step by one,
  /// an earlier one when every dimension after it is whole or when it
  /// selects a single position. `t[2]` or `t[:, 3:9]` of a `[4, 16]`
  /// tensor is one run or four runs of six.
  static func forEachRun(_ offsets: [[Int]], _ body: (_ offset: Int, _ count: Int) -> Void) {
    let r = offsets.count
    if offsets.contains(where: { $0.isEmpty }) { return }
    var joined = 0, count = 1
    for d in stride(from: r - 1, through: 0, by: -1) {
      let o = offsets[d]
      guard o.indices.allSatisfy({ o[$0] == o[0] + $0 * count }) else { break }
      joined += 1; count *= o.count
    }
    let first = offsets[(r - joined)...].reduce(0) { $0 + $1[0] }
    forEachOffset(Array(offsets[..<(r - joined)])) { body($0 + first, count) }
  }

  /// Calls `body` with `Σ offsets[d][i_d]` for every multi-index, in
  /// row-major order (one call with 0 for no dimensions; none when a list is
  /// empty). The sum is kept up to date as the multi-index advances.
  static func forEachOffset(_ offsets: [[Int]], _ body: (Int) -> Void) {
    let r = offsets.count
    if r == 0 { body(0); return }
    if offsets.contains(where: { $0.isEmpty }) { return }
    var index = [Int](repeating: 0, count: r)
    let last = offsets[r - 1]
    // base = Σ over the outer dimensions of offsets[d][index[d]].
    var base = offsets[..<(r - 1)].reduce(0) { $0 + $1[0] }
    while true {
      for off in last { body(base + off) }
      var d = r - 2
      while d >= 0 {
        base -= offsets[d][index[d]]
        index[d] += 1
        if index[d] < offsets[d].count { base += offsets[d][index[d]]; break }
        index[d] = 0; base += offsets[d][0]
        d -= 1
      }
      if d < 0 { return }
    }
  }

  // MARK: - Joining

  /// Joins tensors along an existing dimension; all other extents must agree.
  public static func cat(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
    guard let first = tensors.first else { throw TensorError("cat: expected at least one tensor") }
    let d = try first.axis(dim, "cat")
    for (i, t) in tensors.enumerated() {
      var a = t.shape, b = first.shape
      guard a.count == b.count else {
        throw TensorError("cat: tensor \(i) has shape \(t.shape.shapeString), tensor 0 has \(first.shape.shapeString)")
      }
      a[d] = 0; b[d] = 0
      guard a == b else {
        throw TensorError("cat: tensor \(i) has shape \(t.shape.shapeString), expected \(first.shape.shapeString) except in dim \(d)")
      }
    }
    let outer = first.shape[..<d].reduce(1, *)
    let inner = first.shape[(d + 1)...].reduce(1, *)
    let sizes = tensors.map { $0.shape[d] * inner }
    let row = sizes.reduce(0, +)
    // Each output row of length `row` is the tensors' rows side by side: all written.
    let out = makeFloats(outer * row) { o in
      var col = 0
      for (t, size) in zip(tensors, sizes) {
        t.data.withUnsafeBufferPointer { p in
          for a in 0..<outer {
            (o.baseAddress! + a * row + col).update(from: p.baseAddress! + a * size, count: size)
          }
        }
        col += size
      }
    }
    var shape = first.shape
    shape[d] = tensors.map { $0.shape[d] }.reduce(0, +)
    return Tensor(shape: shape, data: out).record("cat", tensors, reads: []) { g in
      var col = 0
      return zip(tensors, sizes).map { t, size in
        defer { col += size }
        guard t.requiresGrad else { return nil }
        // Row a of this part's gradient is its slice of the output's row a: all written.
        let gt = makeFloats(outer * size) { o in
          g.data.withUnsafeBufferPointer { pg in
            for a in 0..<outer {
              (o.baseAddress! + a * size).update(from: pg.baseAddress! + a * row + col, count: size)
            }
          }
        }
        return Tensor(shape: t.shape, data: gt)
      }
    }
  }

  /// Joins same-shape tensors along a new dimension.
  public static func stack(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
    guard let first = tensors.first else { throw TensorError("stack: expected at least one tensor") }
    let d = dim < 0 ? dim + first.rank + 1 : dim
    guard d >= 0 && d <= first.rank else {
      throw TensorError("stack: dim \(dim) is out of range for tensors of rank \(first.rank)")
    }
    for (i, t) in tensors.enumerated() where t.shape != first.shape {
      throw TensorError("stack: tensor \(i) has shape \(t.shape.shapeString), tensor 0 has \(first.shape.shapeString)")
    }
    var s = first.shape
    s.insert(1, at: d)
    return try cat(tensors.map { try $0.reshaped(s) }, dim: d)
  }
}
