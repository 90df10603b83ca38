/// Output channels per forward block and per weight-gradient block.
public let sameConvolutionChannelBlock = 8
/// Positions per forward block: three vectors of 16.
public let sameConvolutionPositionBlock = 48

/// Kernels for stride-1 convolutions over *planes*, vectorized over output
/// positions.
///
/// RiadTensor lays each channel out as a plane in which images are stacked
/// row after row with zero bands between them (`SamePlanes`). In such a plane
/// a k×k convolution is a 1-D correlation: the output at position q reads the
/// input at q + offset(t) for each tap t. So the column matrix of im2col
/// never exists; its rows are the plane itself, shifted.
public enum SameConvolution {
  /// Eight output rows over positions `q0 ..< q1` (a multiple of 48 apart):
  ///
  ///     dst[j][q] = Σ_c Σ_t w[c][t][j] · src[c·planeStride + q + offsets[c·offsetStride + t]]
  ///
  /// `w` holds this block's weights packed `[cin][taps][8]`; `dst` rows are
  /// `dstStride` apart. Every channel has the same taps when `offsetStride`
  /// is 0, its own when it is `taps`. Reads `src` up to `q1 − 1 + max(offsets)`.
  /// With `accumulate`, the sums are added to what `dst` holds (the caller
  /// splits many input channels into groups whose weights stay in L1).
  public static func forward(src: UnsafePointer<Float>, planeStride: Int, cin: Int,
                             offsets: UnsafePointer<Int>, offsetStride: Int = 0, taps: Int,
                             w: UnsafePointer<Float>,
                             dst: UnsafeMutablePointer<Float>, dstStride: Int,
                             q0: Int, q1: Int, accumulate: Bool = false) {
    var q = q0
    while q < q1 {
      var rows = InlineArray<8, Row3>(repeating: Row3())
      if accumulate { for j in 0..<8 { rows[j].load(dst + j * dstStride + q) } }
      var wp = w
      for c in 0..<cin {
        let plane = src + c * planeStride + q, taps0 = offsets + c * offsetStride
        for t in 0..<taps {
          let s = plane + taps0[t]
          let x0 = load(s), x1 = load(s + 16), x2 = load(s + 32)
          for j in 0..<8 { rows[j].add(Lanes(repeating: wp[j]), x0, x1, x2) }
          wp += 8
        }
      }
      for j in 0..<8 { rows[j].store(dst + j * dstStride + q) }
      q += sameConvolutionPositionBlock
    }
  }

  /// One output row over positions `q0 ..< q1` (a multiple of 48 apart), for
  /// layers with fewer than eight output channels (the final layer, the
  /// losses' single-channel filters), where the eight-row kernel would mostly
  /// multiply zeros:
  ///
  ///     dst[q] = Σ_c Σ_t w[(c·taps + t)·wStride] · src[c·planeStride + q + offsets[c·offsetStride + t]]
  public static func forwardRow(src: UnsafePointer<Float>, planeStride: Int, cin: Int,
                                offsets: UnsafePointer<Int>, offsetStride: Int = 0, taps: Int,
                                w: UnsafePointer<Float>, wStride: Int,
                                dst: UnsafeMutablePointer<Float>, q0: Int, q1: Int, accumulate: Bool = false) {
    var q = q0
    while q < q1 {
      // Two taps at a time into two rows of sums: twice the independent FMAs.
      var even = Row3(), odd = Row3()
      if accumulate { even.load(dst + q) }
      var wp = w
      for c in 0..<cin {
        let plane = src + c * planeStride + q, taps0 = offsets + c * offsetStride
        var t = 0
        while t + 1 < taps {
          let s = plane + taps0[t], u = plane + taps0[t + 1]
          even.add(Lanes(repeating: wp[0]), load(s), load(s + 16), load(s + 32))
          odd.add(Lanes(repeating: wp[wStride]), load(u), load(u + 16), load(u + 32))
          wp += 2 * wStride
          t += 2
        }
        if t < taps {
          let s = plane + taps0[t]
          even.add(Lanes(repeating: wp[0]), load(s), load(s + 16), load(s + 32))
          wp += wStride
        }
      }
      store(even.v0 + odd.v0, dst + q); store(even.v1 + odd.v1, dst + q + 16); store(even.v2 + odd.v2, dst + q + 32)
      q += sameConvolutionPositionBlock
    }
  }

  /// Weight gradients of eight output channels against `count` shifted
  /// source rows, over positions `q0 ..< q1` (a multiple of 16 apart), added
  /// into `dw`:
  ///
  ///     dw[j·dwStride + i] += Σ_q gy[j·gyStride + q] · sources[i][q]
  ///
  /// Each source is an input plane already advanced by one tap's offset, so
  /// the rows of every (channel, tap) pair are taken three at a time.
  public static func weightGradient(gy: UnsafePointer<Float>, gyStride: Int,
                                    sources: UnsafePointer<UnsafePointer<Float>>, count: Int,
                                    dw: UnsafeMutablePointer<Float>, dwStride: Int,
                                    q0: Int, q1: Int) {
    var i = 0
    while i < count {
      // A missing second or third source repeats the last one; its sums are dropped.
      let s0 = sources[i], s1 = sources[min(i + 1, count - 1)], s2 = sources[min(i + 2, count - 1)]
      // Eight named rows: here (unlike in `forward`) an InlineArray of rows
      // is kept in memory by the compiler, and every FMA would store.
      var r0 = Row3(), r1 = Row3(), r2 = Row3(), r3 = Row3(), r4 = Row3(), r5 = Row3(), r6 = Row3(), r7 = Row3()
      var q = q0
      while q < q1 {
        let x0 = load(s0 + q), x1 = load(s1 + q), x2 = load(s2 + q), g = gy + q
        r0.add(load(g), x0, x1, x2)
        r1.add(load(g + gyStride), x0, x1, x2)
        r2.add(load(g + 2 * gyStride), x0, x1, x2)
        r3.add(load(g + 3 * gyStride), x0, x1, x2)
        r4.add(load(g + 4 * gyStride), x0, x1, x2)
        r5.add(load(g + 5 * gyStride), x0, x1, x2)
        r6.add(load(g + 6 * gyStride), x0, x1, x2)
        r7.add(load(g + 7 * gyStride), x0, x1, x2)
        q += 16
      }
      let used = min(3, count - i)
      func add(_ j: Int, _ r: Row3) {
        let d = dw + j * dwStride + i
        d[0] += r.v0.sum()
        if used > 1 { d[1] += r.v1.sum() }
        if used > 2 { d[2] += r.v2.sum() }
      }
      add(0, r0); add(1, r1); add(2, r2); add(3, r3); add(4, r4); add(5, r5); add(6, r6); add(7, r7)
      i += 3
    }
  }
}
