/// Batch normalization over the N, H, W dimensions of `[N,C,H,W]`, per channel.
/// Channels are independent, so every pass runs over channels in parallel.
extension Tensor {
  /// Training mode normalizes with the batch statistics (biased variance) and
  /// updates the running statistics in place with PyTorch's rule
  /// `r ← (1 − m)·r + m·s`, using the unbiased variance for `running_var`.
  /// Eval mode normalizes with the running statistics. `relu` applies
  /// max(·, 0) to the result in the same pass (the U-Net's BN → ReLU), with
  /// the gradient of the composition.
  public static func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?,
                               runningMean: Tensor?, runningVar: Tensor?,
                               training: Bool, momentum: Float = 0.1, eps: Float = 1e-5,
                               relu: Bool = false) throws -> Tensor {
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
      rm.update { r in for ch in 0..<c { r[ch] = (1 - momentum) * r[ch] + momentum * mean[ch] } }
      rv.update { r in
        for ch in 0..<c { r[ch] = (1 - momentum) * r[ch] + momentum * Float(batchVar[ch] * Double(m) / Double(m - 1)) }
      }
    }
    let w = weight?.data, b = bias?.data
    // Every element is written: each channel's thread writes its planes of every image.
    let y = makeFloats(x.count) { py in
      x.data.withUnsafeBufferPointer { px in
        parallelFor(c, cost: 2 * m) { ch in
          let a = w?[ch] ?? 1, shift = b?[ch] ?? 0, mu = mean[ch], s = invStd[ch]
          for i in 0..<n {
            let row = px.baseAddress! + (i * c + ch) * p, out = py.baseAddress! + (i * c + ch) * p
            if relu {
              for k in 0..<p { out[k] = Scalar.relu(a * ((row[k] - mu) * s) + shift) }
            } else {
              for k in 0..<p { out[k] = a * ((row[k] - mu) * s) + shift }
            }
          }
        }
      }
    }
    let inputs = [x] + [weight, bias].compactMap { $0 }
    let out = Tensor(shape: x.shape, data: y)
    // x̂ = (x − μ)·s is recomputed from x rather than stored. The rule reads
    // the output (for ReLU's mask): unowned, or out → node → rule → out is a cycle.
    return out.record(relu ? "batch_norm_relu" : "batch_norm", inputs, reads: relu ? [.inputs, .output] : .inputs) { [unowned out] g in
      // Per-channel sums: written through pointers, one channel per thread;
      // the thread of channel ch writes gw[ch], gb[ch] and gx's planes of ch.
      let gw = UnsafeMutableBufferPointer<Float>.allocate(capacity: c), gb = UnsafeMutableBufferPointer<Float>.allocate(capacity: c)
      defer { gw.deallocate(); gb.deallocate() }
      MemoryPoison.poison(gw.baseAddress!, c); MemoryPoison.poison(gb.baseAddress!, c)
      let gx = makeFloats(x.count) { pgx in
        g.data.withUnsafeBufferPointer { pg in
          x.data.withUnsafeBufferPointer { px in
            out.data.withUnsafeBufferPointer { py in
              parallelFor(c, cost: 3 * m) { ch in
                let mu = mean[ch], s = invStd[ch]
                var sg: Double = 0, sgh: Double = 0
                for i in 0..<n {
                  let o = (i * c + ch) * p
                  let (a, b) = gradientSums(pg.baseAddress! + o, px.baseAddress! + o,
                                            relu ? py.baseAddress! + o : nil, p, mean: mu, invStd: s)
                  sg += a; sgh += b
                }
                gw[ch] = Float(sgh); gb[ch] = Float(sg)
                // training: dx = a·s·(g − mean(g) − x̂·mean(g·x̂)); eval: dx = a·s·g
                let mg = training ? Float(sg / Double(m)) : 0, mgh = training ? Float(sgh / Double(m)) : 0
                let scale = (w?[ch] ?? 1) * s
                for i in 0..<n {
                  let o = (i * c + ch) * p
                  inputGradient(pg.baseAddress! + o, px.baseAddress! + o, relu ? py.baseAddress! + o : nil, p,
                                mean: mu, invStd: s, scale: scale, meanG: mg, meanGH: mgh, into: pgx.baseAddress! + o)
                }
              }
            }
          }
        }
      }
      var grads: [Tensor?] = [Tensor(shape: x.shape, data: gx)]
      if weight != nil { grads.append(Tensor(shape: [c], data: Array(gw))) }
      if bias != nil { grads.append(Tensor(shape: [c], data: Array(gb))) }
      return grads
    }
  }
}

/// Σ g′ and Σ g′·x̂ over one row, x̂ = (x − μ)·s and g′ = g, or 0 where the
/// ReLU output `y` is ≤ 0 when `y` is given. Vector lanes over blocks of
/// 512, block totals in Double (as `blockedSum`).
@inline(__always)
private func gradientSums(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>?,
                          _ p: Int, mean: Float, invStd: Float) -> (Double, Double) {
  let muv = SIMD8<Float>(repeating: mean), sv = SIMD8<Float>(repeating: invStd)
  var sumG: Double = 0, sumGH: Double = 0
  var i = 0
  while i < p {
    let end = Swift.min(p, i + 512)
    var ag = SIMD8<Float>(), agh = SIMD8<Float>()
    var rg: Float = 0, rgh: Float = 0
    byEights(end - i, { k in
      let j = i + k
      var gv = lanes(g + j)
      if let y { gv.replace(with: 0, where: lanes(y + j) .<= 0) }
      ag += gv
      agh += gv * ((lanes(x + j) - muv) * sv)
    }, { k in
      let j = i + k
      let gk = y.map { $0[j] <= 0 } == true ? 0 : g[j]
      rg += gk; rgh += gk * ((x[j] - mean) * invStd)
    })
    sumG += Double(ag.sum()) + Double(rg)
    sumGH += Double(agh.sum()) + Double(rgh)
    i = end
  }
  return (sumG, sumGH)
}

/// dx = scale·(g′ − mean(g′) − x̂·mean(g′·x̂)) over one row (g′ as in `gradientSums`).
@inline(__always)
private func inputGradient(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>?,
                           _ p: Int, mean: Float, invStd: Float, scale: Float, meanG: Float, meanGH: Float,
                           into dx: UnsafeMutablePointer<Float>) {
  let muv = SIMD8<Float>(repeating: mean), sv = SIMD8<Float>(repeating: invStd)
  let scv = SIMD8<Float>(repeating: scale), mgv = SIMD8<Float>(repeating: meanG), mghv = SIMD8<Float>(repeating: meanGH)
  byEights(p, { j in
    var gv = lanes(g + j)
    if let y { gv.replace(with: 0, where: lanes(y + j) .<= 0) }
    storeLanes(scv * (gv - mgv - (lanes(x + j) - muv) * sv * mghv), dx + j)
  }, { j in
    let gk = y.map { $0[j] <= 0 } == true ? 0 : g[j]
    dx[j] = scale * (gk - meanG - (x[j] - mean) * invStd * meanGH)
  })
}
