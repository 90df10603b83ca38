/// Batch normalization over the N, H, W dimensions of `[N,C,H,W]`, per channel.
extension Tensor {
  /// Training mode normalizes with the batch statistics (biased variance) and
  /// updates the running statistics in place with PyTorch's rule
  /// `r ← (1 − m)·r + m·s`, using the unbiased variance for `running_var`.
  /// Eval mode normalizes with the running statistics.
  public static func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?,
                               runningMean: Tensor?, runningVar: Tensor?,
                               training: Bool, momentum: Float = 0.1, eps: Float = 1e-5) throws -> Tensor {
    guard x.rank == 4 else { throw TensorError("batch_norm: input must be [N,C,H,W], got \(x.shape.shapeString)") }
    let (n, c, p) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    for (name, t) in [("weight", weight), ("bias", bias), ("running_mean", runningMean), ("running_var", runningVar)] {
      if let t, t.shape != [c] {
        throw TensorError("batch_norm: \(name) must be [\(c)] for an input with \(c) channels, got \(t.shape.shapeString)")
      }
    }
    if !training && (runningMean == nil || runningVar == nil) {
      throw TensorError("batch_norm: eval mode needs running_mean and running_var")
    }
    let m = n * p
    if training && m < 2 {
      throw TensorError("batch_norm: training needs more than one value per channel, got input \(x.shape.shapeString)")
    }
    var mean = [Float](repeating: 0, count: c), invStd = [Float](repeating: 0, count: c)
    x.data.withUnsafeBufferPointer { px in
      for ch in 0..<c {
        if training {
          var s: Double = 0, ss: Double = 0
          for i in 0..<n { let row = px.baseAddress! + (i * c + ch) * p; for k in 0..<p { s += Double(row[k]) } }
          let mu = s / Double(m)
          for i in 0..<n { let row = px.baseAddress! + (i * c + ch) * p; for k in 0..<p { let d = Double(row[k]) - mu; ss += d * d } }
          let v = ss / Double(m)
          mean[ch] = Float(mu); invStd[ch] = Float(1 / (v + Double(eps)).squareRoot())
          if let rm = runningMean, let rv = runningVar {
            rm.data[ch] = (1 - momentum) * rm.data[ch] + momentum * Float(mu)
            rv.data[ch] = (1 - momentum) * rv.data[ch] + momentum * Float(ss / Double(m - 1))
          }
        } else {
          mean[ch] = runningMean!.data[ch]; invStd[ch] = 1 / (runningVar!.data[ch] + eps).squareRoot()
        }
      }
    }
    var xhat = [Float](repeating: 0, count: x.count), y = [Float](repeating: 0, count: x.count)
    x.data.withUnsafeBufferPointer { px in
      for i in 0..<n { for ch in 0..<c {
        let a = weight?.data[ch] ?? 1, b = bias?.data[ch] ?? 0, mu = mean[ch], s = invStd[ch]
        let o = (i * c + ch) * p
        for k in 0..<p { let h = (px[o + k] - mu) * s; xhat[o + k] = h; y[o + k] = a * h + b }
      } }
    }
    let inputs = [x] + [weight, bias].compactMap { $0 }
    return Tensor(shape: x.shape, data: y).record("batch_norm", inputs) { g in
      var gx = [Float](repeating: 0, count: x.count)
      var gw = [Float](repeating: 0, count: c), gb = [Float](repeating: 0, count: c)
      for ch in 0..<c {
        var sg: Double = 0, sgh: Double = 0
        for i in 0..<n { let o = (i * c + ch) * p; for k in 0..<p { sg += Double(g.data[o + k]); sgh += Double(g.data[o + k] * xhat[o + k]) } }
        gw[ch] = Float(sgh); gb[ch] = Float(sg)
        let a = weight?.data[ch] ?? 1, s = invStd[ch]
        if training {
          // dx = a·s·(g − mean(g) − x̂·mean(g·x̂))
          let mg = Float(sg / Double(m)), mgh = Float(sgh / Double(m))
          for i in 0..<n { let o = (i * c + ch) * p; for k in 0..<p { gx[o + k] = a * s * (g.data[o + k] - mg - xhat[o + k] * mgh) } }
        } else {
          for i in 0..<n { let o = (i * c + ch) * p; for k in 0..<p { gx[o + k] = a * s * g.data[o + k] } }
        }
      }
      var grads: [Tensor?] = [Tensor(shape: x.shape, data: gx)]
      if weight != nil { grads.append(Tensor(shape: [c], data: gw)) }
      if bias != nil { grads.append(Tensor(shape: [c], data: gb)) }
      return grads
    }
  }
}
