/// Separable filters on `[N,C,H,W]`: each plane correlated with `taps ⊗ taps`
/// (zero padding, output the input's size), in two one-dimensional passes.
/// For K taps that is 2K multiply-adds a pixel instead of K² for the same
/// kernel as a K×K convolution (SSIM's 11×11 Gaussian: 22 against 121).
extension Tensor {
  /// `y[p][i][j] = Σ_a Σ_b taps[a]·taps[b]·x[p][i + a − r][j + b − r]`,
  /// `r = taps.count / 2`, pixels outside the image zero: what
  /// `conv2d(x′, outer(taps, taps), padding: r)` gives for every plane `x′`.
  /// Differentiable in `x`; `taps` is a constant.
  public func separableFilter(_ taps: [Float]) throws -> Tensor {
    let (np, h, w) = try planes("separable_filter")
    guard taps.count % 2 == 1 else {
      throw TensorError("separable_filter: needs an odd number of taps, got \(taps.count)")
    }
    let x = self
    let y = Tensor(shape: shape, data: Tensor.filterPlanes(data, planes: np, h: h, w: w, taps: taps))
    // The adjoint of a zero-padded correlation is the correlation with the
    // taps reversed (the same taps for a symmetric filter such as a Gaussian).
    let reversed = Array(taps.reversed())
    return y.record("separable_filter", [x], reads: []) { g in
      [Tensor(shape: g.shape, data: Tensor.filterPlanes(g.data, planes: np, h: h, w: w, taps: reversed))]
    }
  }

  /// Correlates each `h × w` plane of `src` with `taps` along rows, then
  /// along columns, eight pixels at a time with the sums in registers.
  static func filterPlanes(_ src: [Float], planes: Int, h: Int, w: Int, taps: [Float]) -> [Float] {
    let k = taps.count, r = k / 2, size = h * w, padded = w + 2 * r
    // Invariant: every plane's h·w outputs are written by the one task of
    // that plane (its column pass stores each pixel once); nothing reads
    // the array before parallelFor returns.
    return [Float](unsafeUninitializedCapacity: planes * size) { out, initialized in
      src.withUnsafeBufferPointer { ps in
        taps.withUnsafeBufferPointer { pt in
          let base = ps.baseAddress!, t = pt.baseAddress!, dst = out.baseAddress!
          parallelFor(planes, cost: 4 * k * size) { plane in
            // `line`: one input row with r zeros on each side (all `padded`
            // entries written before each row's pass reads them); `rows`:
            // the row pass's h·w results, each written once before the
            // column pass reads it.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: padded + size) { scratch in
              let line = scratch.baseAddress!, rows = line + padded
              let x = base + plane * size, y = dst + plane * size
              line.initialize(repeating: 0, count: r)
              (line + r + w).initialize(repeating: 0, count: r)
              for i in 0..<h {
                (line + r).initialize(from: x + i * w, count: w)
                let row = rows + i * w
                byEights(w, { j in
                  var sum = SIMD8<Float>()
                  for a in 0..<k { sum += t[a] * lanes(line + j + a) }
                  storeLanes(sum, row + j)
                }, { j in
                  var sum: Float = 0
                  for a in 0..<k { sum += t[a] * line[j + a] }
                  row[j] = sum
                })
              }
              // Output row i reads rows i + a − r that lie in the image.
              for i in 0..<h {
                let lo = Swift.max(0, r - i), hi = Swift.min(k, h + r - i)
                let from = rows + (i + lo - r) * w, row = y + i * w
                byEights(w, { j in
                  var sum = SIMD8<Float>()
                  for a in lo..<hi { sum += t[a] * lanes(from + (a - lo) * w + j) }
                  storeLanes(sum, row + j)
                }, { j in
                  var sum: Float = 0
                  for a in lo..<hi { sum += t[a] * from[(a - lo) * w + j] }
                  row[j] = sum
                })
              }
            }
          }
        }
      }
      initialized = planes * size
    }
  }
}
