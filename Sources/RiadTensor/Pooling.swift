import Foundation

/// Pooling, resampling and the border-aware mean filter, on `[N,C,H,W]`.
/// Every plane (one image, one channel) is independent, so each op loops
/// over planes in parallel.
extension Tensor {
  func planes(_ op: String) throws -> (planes: Int, h: Int, w: Int) {
    guard rank == 4 else { throw TensorError("\(op): input must be [N,C,H,W], got \(shape.shapeString)") }
    return (shape[0] * shape[1], shape[2], shape[3])
  }

  /// Average over k×k windows (`count_include_pad` as PyTorch's default).
  public func avgPool2d(_ k: Int, stride: Int? = nil, padding: Int = 0) throws -> Tensor {
    let s = stride ?? k
    let (np, h, w) = try planes("avg_pool2d")
    guard k >= 1, s >= 1, padding >= 0, padding * 2 <= k, h + 2 * padding >= k, w + 2 * padding >= k else {
      throw TensorError("avg_pool2d: need k ≥ 1, stride ≥ 1, padding ≤ k/2 and a window that fits the \(h)×\(w) input, got k \(k), stride \(s), padding \(padding)")
    }
    let ho = (h + 2 * padding - k) / s + 1, wo = (w + 2 * padding - k) / s + 1
    guard ho > 0, wo > 0 else { throw TensorError("avg_pool2d: a \(k)×\(k) window does not fit a \(h)×\(w) input") }
    let x = self, inv = 1 / Float(k * k)
    // Each output averages a window; windows visit input pixels, so one
    // routine serves forward (gather) and backward (scatter).
    func windows(_ body: (Int, Int, Int, Int) -> Void) {  // (plane, outIndex, iy, ix)
      for oy in 0..<ho { for ox in 0..<wo {
        for i in 0..<k { let iy = oy * s - padding + i; if iy < 0 || iy >= h { continue }
          for j in 0..<k { let ix = ox * s - padding + j; if ix < 0 || ix >= w { continue }
            body(0, oy * wo + ox, iy, ix) } }
      } }
    }
    var y = [Float](repeating: 0, count: np * ho * wo)
    data.withUnsafeBufferPointer { px in
      y.withUnsafeMutableBufferPointer { py in
        parallelFor(np, cost: h * w) { pl in
          let src = px.baseAddress! + pl * h * w, dst = py.baseAddress! + pl * ho * wo
          windows { _, o, iy, ix in dst[o] += src[iy * w + ix] * inv }
        }
      }
    }
    return Tensor(shape: [shape[0], shape[1], ho, wo], data: y).record("avg_pool2d", [x], reads: []) { g in
      var gx = [Float](repeating: 0, count: x.count)
      g.data.withUnsafeBufferPointer { pg in
        gx.withUnsafeMutableBufferPointer { pgx in
          parallelFor(np, cost: h * w) { pl in
            let src = pg.baseAddress! + pl * ho * wo, dst = pgx.baseAddress! + pl * h * w
            windows { _, o, iy, ix in dst[iy * w + ix] += src[o] * inv }
          }
        }
      }
      return [Tensor(shape: x.shape, data: gx)]
    }
  }

  /// Maximum over k×k windows; the gradient goes to the first maximum. A
  /// window holding NaN gives NaN (and its gradient goes to that NaN).
  public func maxPool2d(_ k: Int, stride: Int? = nil) throws -> Tensor {
    let s = stride ?? k
    let (np, h, w) = try planes("max_pool2d")
    guard k >= 1, s >= 1, h >= k, w >= k else {
      throw TensorError("max_pool2d: a \(k)×\(k) window with stride \(s) does not fit a \(h)×\(w) input")
    }
    let ho = (h - k) / s + 1, wo = (w - k) / s + 1
    var y = [Float](repeating: 0, count: np * ho * wo)
    var arg = [Int](repeating: 0, count: np * ho * wo)
    data.withUnsafeBufferPointer { px in
      for pl in 0..<np {
        let src = px.baseAddress! + pl * h * w
        for oy in 0..<ho { for ox in 0..<wo {
          var best = -Float.infinity, at = (oy * s) * w + ox * s
          for i in 0..<k { for j in 0..<k {
            let idx = (oy * s + i) * w + ox * s + j
            if src[idx] > best || (src[idx].isNaN && !best.isNaN) { best = src[idx]; at = idx }
          } }
          y[(pl * ho + oy) * wo + ox] = best; arg[(pl * ho + oy) * wo + ox] = pl * h * w + at
        } }
      }
    }
    let x = self
    return Tensor(shape: [shape[0], shape[1], ho, wo], data: y).record("max_pool2d", [x], reads: []) { g in
      var gx = [Float](repeating: 0, count: x.count)
      for (o, i) in arg.enumerated() { gx[i] += g.data[o] }
      return [Tensor(shape: x.shape, data: gx)]
    }
  }

  /// Resamples to `[oh, ow]`, as F.interpolate with align_corners=False.
  /// The source coordinate of output pixel o is o·scale (nearest, floored)
  /// or (o + ½)·scale − ½ clamped at 0 (bilinear, half-pixel centres), with
  /// scale = in/out in float32, or 1/factor when `factors` (the caller's
  /// scale factors, height then width) are given, as PyTorch does. A side
  /// whose size does not change is copied as it is.
  public func upsample(to size: (Int, Int), mode: String = "bilinear", factors: (Double, Double)? = nil) throws -> Tensor {
    let (np, h, w) = try planes("upsample")
    let (oh, ow) = size
    guard oh > 0, ow > 0 else { throw TensorError("upsample: size must be positive, got [\(oh), \(ow)]") }
    // Each output pixel is a weighted sum of up to four input pixels.
    typealias Tap = (Int, Float)
    func taps(_ o: Int, _ n: Int, _ on: Int, _ factor: Double?) -> [Tap] {
      let scale = factor.map { Float(1 / $0) } ?? Float(n) / Float(on)
      if mode == "nearest" { return [(Swift.min(Int((Float(o) * scale).rounded(.down)), n - 1), 1)] }
      // A side that keeps its size is copied, not blended (PyTorch skips
      // it), so an infinity next door does not turn into 0·∞ = NaN.
      if on == n && factor == nil { return [(o, 1)] }
      let src = Swift.max(scale * (Float(o) + 0.5) - 0.5, 0)
      let i0 = Swift.min(Int(src), n - 1), i1 = Swift.min(i0 + 1, n - 1)
      let l = src - Float(i0)
      return [(i0, 1 - l), (i1, l)]
    }
    guard mode == "bilinear" || mode == "nearest" else {
      throw TensorError("upsample: mode must be \"bilinear\" or \"nearest\", got \"\(mode)\"")
    }
    let ty = (0..<oh).map { taps($0, h, oh, factors?.0) }, tx = (0..<ow).map { taps($0, w, ow, factors?.1) }
    var y = [Float](repeating: 0, count: np * oh * ow)
    data.withUnsafeBufferPointer { px in
      y.withUnsafeMutableBufferPointer { py in
        parallelFor(np, cost: oh * ow * 4) { pl in
          let src = px.baseAddress! + pl * h * w, dst = py.baseAddress! + pl * oh * ow
          for oy in 0..<oh { for ox in 0..<ow {
            var v: Float = 0
            for (iy, wy) in ty[oy] { for (ix, wx) in tx[ox] { v += wy * wx * src[iy * w + ix] } }
            dst[oy * ow + ox] = v
          } }
        }
      }
    }
    let x = self
    return Tensor(shape: [shape[0], shape[1], oh, ow], data: y).record("upsample", [x], reads: []) { g in
      var gx = [Float](repeating: 0, count: x.count)
      g.data.withUnsafeBufferPointer { pg in
        gx.withUnsafeMutableBufferPointer { pgx in
          parallelFor(np, cost: oh * ow * 4) { pl in
            let src = pg.baseAddress! + pl * oh * ow, dst = pgx.baseAddress! + pl * h * w
            for oy in 0..<oh { for ox in 0..<ow {
              let v = src[oy * ow + ox]
              for (iy, wy) in ty[oy] { for (ix, wx) in tx[ox] { dst[iy * w + ix] += wy * wx * v } }
            } }
          }
        }
      }
      return [Tensor(shape: x.shape, data: gx)]
    }
  }

  /// The anomaly-map smoothing: a size×size box mean, stride 1, same size
  /// out; a window at the border averages only the pixels inside the image.
  public func meanFilter(_ size: Int) throws -> Tensor {
    let (np, h, w) = try planes("mean_filter")
    guard size >= 1, size % 2 == 1 else { throw TensorError("mean_filter: size must be a positive odd number, got \(size)") }
    let r = size / 2
    // count of in-image pixels of each window: separable in y and x
    let cy = (0..<h).map { Float(Swift.min($0 + r, h - 1) - Swift.max($0 - r, 0) + 1) }
    let cx = (0..<w).map { Float(Swift.min($0 + r, w - 1) - Swift.max($0 - r, 0) + 1) }
    let x = self
    func boxMean(_ input: Tensor, divideBefore: Bool) -> Tensor {
      var out = [Float](repeating: 0, count: input.count)
      input.data.withUnsafeBufferPointer { px in
        out.withUnsafeMutableBufferPointer { po in
          parallelFor(np, cost: h * w * 4) { pl in
            let src = px.baseAddress! + pl * h * w, dst = po.baseAddress! + pl * h * w
            var tmp = [Float](repeating: 0, count: h * w)
            // rows: running sums in x
            for yy in 0..<h {
              for xx in 0..<w {
                var s: Float = 0
                for k in Swift.max(xx - r, 0)...Swift.min(xx + r, w - 1) {
                  s += divideBefore ? src[yy * w + k] / (cy[yy] * cx[k]) : src[yy * w + k]
                }
                tmp[yy * w + xx] = s
              }
            }
            for yy in 0..<h {
              for xx in 0..<w {
                var s: Float = 0
                for k in Swift.max(yy - r, 0)...Swift.min(yy + r, h - 1) { s += tmp[k * w + xx] }
                dst[yy * w + xx] = divideBefore ? s : s / (cy[yy] * cx[xx])
              }
            }
          }
        }
      }
      return Tensor(shape: input.shape, data: out)
    }
    // y = box(x) / count; the adjoint is box(g / count) since the box is symmetric.
    return boxMean(x, divideBefore: false).record("mean_filter", [x], reads: []) { g in [boxMean(g, divideBefore: true)] }
  }
}
