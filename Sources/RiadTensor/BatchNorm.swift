/// Batch normalization over the N, H, W dimensions of `[N,C,H,W]`, per channel.
/// Channels are independent, so every pass runs over channels in parallel.
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
    // Per-channel statistics: mean and 1/√(var + eps), and the batch variance.
    var mean = [Float](repeating: 0, count: c), invStd = [Float](repeating: 0, count: c)
    var batchVar = [Double](repeating: 0, count: c)
    x.data.withUnsafeBufferPointer { px in
      mean.withUnsafeMutableBufferPointer { pm in
        invStd.withUnsafeMutableBufferPointer { ps in
          batchVar.withUnsafeMutableBufferPointer { pv in
            parallelFor(c, cost: 2 * m) { ch in
              if training {
                var s: Double = 0, ss: Double = 0
                for i in 0..<n { s += sumOf(px.baseAddress! + (i * c + ch) * p, p) }
                let mu = s / Double(m)
                // Deviations from the float mean, corrected to the exact one: Σ(x − μ)² = Σ(x − μf)² − m(μ − μf)².
                let muf = Float(mu)
                for i in 0..<n { ss += sumOfSquaredDeviations(px.baseAddress! + (i * c + ch) * p, p, from: muf) }
                let shift = mu - Double(muf)
                pv[ch] = Swift.max(0, ss / Double(m) - shift * shift)
                pm[ch] = Float(mu); ps[ch] = Float(1 / (pv[ch] + Double(eps)).squareRoot())
              } else {
                pm[ch] = runningMean!.data[ch]; ps[ch] = 1 / (runningVar!.data[ch] + eps).squareRoot()
              }
            }
          }
        }
      }
    }
    if training, let rm = runningMean, let rv = runningVar {
      for ch in 0..<c {
        rm.data[ch] = (1 - momentum) * rm.data[ch] + momentum * mean[ch]
        rv.data[ch] = (1 - momentum) * rv.data[ch] + momentum * Float(batchVar[ch] * Double(m) / Double(m - 1))
      }
    }
    let w = weight?.data, b = bias?.data
    var y: [Float] = []
    let xhat = makeFloats(x.count) { ph in
      y = makeFloats(x.count) { py in
        x.data.withUnsafeBufferPointer { px in
          parallelFor(c, cost: 2 * m) { ch in
            let a = w?[ch] ?? 1, shift = b?[ch] ?? 0, mu = mean[ch], s = invStd[ch]
            for i in 0..<n {
              let o = (i * c + ch) * p
              for k in 0..<p { let h = (px[o + k] - mu) * s; ph[o + k] = h; py[o + k] = a * h + shift }
            }
          }
        }
      }
    }
    let inputs = [x] + [weight, bias].compactMap { $0 }
    return Tensor(shape: x.shape, data: y).record("batch_norm", inputs) { g in
      var gw = [Float](repeating: 0, count: c), gb = [Float](repeating: 0, count: c)
      let gx = makeFloats(x.count) { pgx in
      g.data.withUnsafeBufferPointer { pg in
        xhat.withUnsafeBufferPointer { ph in
            gw.withUnsafeMutableBufferPointer { pgw in
              gb.withUnsafeMutableBufferPointer { pgb in
                parallelFor(c, cost: 3 * m) { ch in
                  var sg: Double = 0, sgh: Double = 0
                  for i in 0..<n {
                    let o = (i * c + ch) * p
                    sg += sumOf(pg.baseAddress! + o, p)
                    sgh += dotOf(pg.baseAddress! + o, ph.baseAddress! + o, p)
                  }
                  pgw[ch] = Float(sgh); pgb[ch] = Float(sg)
                  let a = w?[ch] ?? 1, s = invStd[ch]
                  // training: dx = a·s·(g − mean(g) − x̂·mean(g·x̂)); eval: dx = a·s·g
                  let mg = training ? Float(sg / Double(m)) : 0, mgh = training ? Float(sgh / Double(m)) : 0
                  for i in 0..<n {
                    let o = (i * c + ch) * p
                    for k in 0..<p { pgx[o + k] = a * s * (pg[o + k] - mg - ph[o + k] * mgh) }
                  }
                }
              }
            }
        }
      }
      }
      var grads: [Tensor?] = [Tensor(shape: x.shape, data: gx)]
      if weight != nil { grads.append(Tensor(shape: [c], data: gw)) }
      if bias != nil { grads.append(Tensor(shape: [c], data: gb)) }
      return grads
    }
  }
}
