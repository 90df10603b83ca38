/// Output channels per forward block and per weight-gradient block.
public let sameConvolutionChannelBlock = 8
/// Positions per forward block: three AVX-512 vectors, six AVX2 vectors,
/// twelve NEON vectors.
public let sameConvolutionPositionBlock = 48

/// Output rows the forward kernel keeps in registers at once: 8 × 3
/// vectors (24 accumulators) where there are 32 registers, 4 × 3 where
/// there are 16; positions go 3 vectors at a time.
#if RIAD_AVX2
let forwardRows = 4
typealias ForwardRows = InlineArray<4, Row3>
#else
let forwardRows = 8
typealias ForwardRows = InlineArray<8, Row3>
#endif

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
  /// With `rows` 4 or fewer (a block padded with zero channels, as the
  /// final layer's three), only the first `rows` rows are computed and
  /// written: one row by `forwardRow`, two to four by a pass that keeps
  /// just those rows' sums.
  public static func forward(src: UnsafePointer<Float>, planeStride: Int, cin: Int,
                             offsets: UnsafePointer<Int>, offsetStride: Int = 0, taps: Int,
                             w: UnsafePointer<Float>,
                             dst: UnsafeMutablePointer<Float>, dstStride: Int,
                             q0: Int, q1: Int, accumulate: Bool = false, rows: Int = sameConvolutionChannelBlock) {
    if rows == 1 {
      forwardRow(src: src, planeStride: planeStride, cin: cin, offsets: offsets, offsetStride: offsetStride, taps: taps,
                 w: w, wStride: sameConvolutionChannelBlock, dst: dst, q0: q0, q1: q1, accumulate: accumulate)
      return
    }
    // Rows j0 ..< j0 + N over the three vectors of positions from p.
    @inline(__always)
    func pass<let N: Int>(_ kind: InlineArray<N, Row3>.Type, _ j0: Int, _ p: Int) {
      forwardPass(kind, src: src, planeStride: planeStride, cin: cin, offsets: offsets, offsetStride: offsetStride,
                  taps: taps, w: w + j0, dst: dst + j0 * dstStride, dstStride: dstStride, p: p, accumulate: accumulate)
    }
    var q = q0
    while q < q1 {
      let end = q + sameConvolutionPositionBlock
      if rows <= 4 {
        // Exactly the real rows: every FMA useful, and fewer registers.
        for p in stride(from: q, to: end, by: 3 * lanes) {
          switch rows {
          case 2: pass(InlineArray<2, Row3>.self, 0, p)
          case 3: pass(InlineArray<3, Row3>.self, 0, p)
          default: pass(InlineArray<4, Row3>.self, 0, p)
          }
        }
      } else {
        // One pass where the registers hold the whole block; two with AVX2.
        for j0 in stride(from: 0, to: sameConvolutionChannelBlock, by: forwardRows) {
          for p in stride(from: q, to: end, by: 3 * lanes) { pass(ForwardRows.self, j0, p) }
        }
      }
      q = end
    }
  }

  /// `N` output rows (the first N of the packed eight, from `w`) over the
  /// three vectors of positions from `p`, the sums in N × 3 registers.
  @inline(__always)
  static func forwardPass<let N: Int>(_: InlineArray<N, Row3>.Type, src: UnsafePointer<Float>, planeStride: Int, cin: Int,
                                      offsets: UnsafePointer<Int>, offsetStride: Int, taps: Int, w: UnsafePointer<Float>,
                                      dst: UnsafeMutablePointer<Float>, dstStride: Int, p: Int, accumulate: Bool) {
    var sums = InlineArray<N, Row3>(repeating: Row3())
    if accumulate { for j in 0..<N { sums[j].load(dst + j * dstStride + p) } }
    var wp = w
    for c in 0..<cin {
      let plane = src + c * planeStride + p, taps0 = offsets + c * offsetStride
      for t in 0..<taps {
        let s = plane + taps0[t]
        let x0 = loadLanes(s), x1 = loadLanes(s + lanes), x2 = loadLanes(s + 2 * lanes)
        for j in 0..<N { sums[j].add(Lanes(repeating: wp[j]), x0, x1, x2) }
        wp += sameConvolutionChannelBlock
      }
    }
    for j in 0..<N { sums[j].store(dst + j * dstStride + p) }
  }

  /// One output row over positions `q0 ..< q1` (a multiple of 48 apart), for
  /// a layer with one output channel, where the eight-row kernel would
  /// mostly multiply zeros:
  ///
  ///     dst[q] = Σ_c Σ_t w[(c·taps + t)·wStride] · src[c·planeStride + q + offsets[c·offsetStride + t]]
  public static func forwardRow(src: UnsafePointer<Float>, planeStride: Int, cin: Int,
                                offsets: UnsafePointer<Int>, offsetStride: Int = 0, taps: Int,
                                w: UnsafePointer<Float>, wStride: Int,
                                dst: UnsafeMutablePointer<Float>, q0: Int, q1: Int, accumulate: Bool = false) {
    var q = q0
    while q < q1 {
      for p in stride(from: q, to: q + sameConvolutionPositionBlock, by: 3 * lanes) {
        // Two taps at a time into two rows of sums: twice the independent FMAs.
        var even = Row3(), odd = Row3()
        if accumulate { even.load(dst + p) }
        var wp = w
        for c in 0..<cin {
          let plane = src + c * planeStride + p, taps0 = offsets + c * offsetStride
          var t = 0
          while t + 1 < taps {
            let s = plane + taps0[t], u = plane + taps0[t + 1]
            even.add(Lanes(repeating: wp[0]), loadLanes(s), loadLanes(s + lanes), loadLanes(s + 2 * lanes))
            odd.add(Lanes(repeating: wp[wStride]), loadLanes(u), loadLanes(u + lanes), loadLanes(u + 2 * lanes))
            wp += 2 * wStride
            t += 2
          }
          if t < taps {
            let s = plane + taps0[t]
            even.add(Lanes(repeating: wp[0]), loadLanes(s), loadLanes(s + lanes), loadLanes(s + 2 * lanes))
            wp += wStride
          }
        }
        storeLanes(even.v0 + odd.v0, dst + p)
        storeLanes(even.v1 + odd.v1, dst + p + lanes)
        storeLanes(even.v2 + odd.v2, dst + p + 2 * lanes)
      }
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
  /// With `rows` 3 (the final layer's three channels), exactly three rows
  /// of `gy` are read and of `dw` added to; with `rows` 1, 2 or 4, the first
  /// four.
  public static func weightGradient(gy: UnsafePointer<Float>, gyStride: Int,
                                    sources: UnsafePointer<UnsafePointer<Float>>, count: Int,
                                    dw: UnsafeMutablePointer<Float>, dwStride: Int,
                                    q0: Int, q1: Int, rows: Int = sameConvolutionChannelBlock) {
    var i = 0
    while i < count {
      // A missing second or third source repeats the last one; its sums are dropped.
      let s0 = sources[i], s1 = sources[min(i + 1, count - 1)], s2 = sources[min(i + 2, count - 1)]
      let used = min(3, count - i)
      if rows == 3 {
        #if RIAD_AVX2
        // 9 accumulators, three sources and a row of gy: 13 of 16 registers.
        gradientRows4(gy, gyStride, s0, s1, s2, dw + i, dwStride, used, q0, q1, three: true)
        i += 3
        #else
        // 18 accumulators, six sources and three rows of gy: 27 of 32
        // registers, and two FMAs per load (the four-row pass wastes a
        // quarter of its FMAs on a zero row).
        let last = count - 1
        gradientRows3x6(gy, gyStride, s0, s1, s2, sources[min(i + 3, last)], sources[min(i + 4, last)],
                        sources[min(i + 5, last)], dw + i, dwStride, min(6, count - i), q0, q1)
        i += 6
        #endif
        continue
      }
      if rows <= 4 {
        gradientRows4(gy, gyStride, s0, s1, s2, dw + i, dwStride, used, q0, q1)
        i += 3
        continue
      }
      #if RIAD_AVX2
      // 16 registers: the eight output rows in two passes of four.
      gradientRows4(gy, gyStride, s0, s1, s2, dw + i, dwStride, used, q0, q1)
      gradientRows4(gy + 4 * gyStride, gyStride, s0, s1, s2, dw + 4 * dwStride + i, dwStride, used, q0, q1)
      #else
      // Eight named rows: here (unlike in `forward`) an InlineArray of rows
      // is kept in memory by the compiler, and every FMA would store.
      var r0 = Row3(), r1 = Row3(), r2 = Row3(), r3 = Row3(), r4 = Row3(), r5 = Row3(), r6 = Row3(), r7 = Row3()
      var q = q0
      while q < q1 {
        let x0 = loadLanes(s0 + q), x1 = loadLanes(s1 + q), x2 = loadLanes(s2 + q), g = gy + q
        r0.add(loadLanes(g), x0, x1, x2)
        r1.add(loadLanes(g + gyStride), x0, x1, x2)
        r2.add(loadLanes(g + 2 * gyStride), x0, x1, x2)
        r3.add(loadLanes(g + 3 * gyStride), x0, x1, x2)
        r4.add(loadLanes(g + 4 * gyStride), x0, x1, x2)
        r5.add(loadLanes(g + 5 * gyStride), x0, x1, x2)
        r6.add(loadLanes(g + 6 * gyStride), x0, x1, x2)
        r7.add(loadLanes(g + 7 * gyStride), x0, x1, x2)
        q += lanes
      }
      let d = dw + i
      addSums(r0, d, used); addSums(r1, d + dwStride, used); addSums(r2, d + 2 * dwStride, used)
      addSums(r3, d + 3 * dwStride, used); addSums(r4, d + 4 * dwStride, used); addSums(r5, d + 5 * dwStride, used)
      addSums(r6, d + 6 * dwStride, used); addSums(r7, d + 7 * dwStride, used)
      #endif
      i += 3
    }
  }

  /// How many rows of `gy` `weightGradient` reads for `rows` real ones
  /// (the rows past `rows` must be readable; their sums are dropped).
  public static func gradientRowsRead(_ rows: Int) -> Int {
    rows == 3 ? 3 : rows <= 4 ? 4 : sameConvolutionChannelBlock
  }

  /// Adds a row's three sums (the first `used`) into `d[0..<used]`.
  @inline(__always)
  static func addSums(_ r: Row3, _ d: UnsafeMutablePointer<Float>, _ used: Int) {
    d[0] += r.v0.sum()
    if used > 1 { d[1] += r.v1.sum() }
    if used > 2 { d[2] += r.v2.sum() }
  }

  /// Three output rows of `weightGradient` against six sources (18
  /// accumulators); `used` (1 to 6) of the sources are real.
  @inline(__always)
  static func gradientRows3x6(_ gy: UnsafePointer<Float>, _ gyStride: Int,
                              _ s0: UnsafePointer<Float>, _ s1: UnsafePointer<Float>, _ s2: UnsafePointer<Float>,
                              _ s3: UnsafePointer<Float>, _ s4: UnsafePointer<Float>, _ s5: UnsafePointer<Float>,
                              _ d: UnsafeMutablePointer<Float>, _ dwStride: Int, _ used: Int, _ q0: Int, _ q1: Int) {
    var a0 = Row3(), a1 = Row3(), a2 = Row3(), b0 = Row3(), b1 = Row3(), b2 = Row3()
    var q = q0
    while q < q1 {
      let x0 = loadLanes(s0 + q), x1 = loadLanes(s1 + q), x2 = loadLanes(s2 + q)
      let x3 = loadLanes(s3 + q), x4 = loadLanes(s4 + q), x5 = loadLanes(s5 + q), g = gy + q
      let g0 = loadLanes(g), g1 = loadLanes(g + gyStride), g2 = loadLanes(g + 2 * gyStride)
      a0.add(g0, x0, x1, x2); b0.add(g0, x3, x4, x5)
      a1.add(g1, x0, x1, x2); b1.add(g1, x3, x4, x5)
      a2.add(g2, x0, x1, x2); b2.add(g2, x3, x4, x5)
      q += lanes
    }
    let first = min(3, used)
    addSums(a0, d, first); addSums(a1, d + dwStride, first); addSums(a2, d + 2 * dwStride, first)
    guard used > 3 else { return }
    addSums(b0, d + 3, used - 3); addSums(b1, d + dwStride + 3, used - 3); addSums(b2, d + 2 * dwStride + 3, used - 3)
  }

  /// Four output rows of `weightGradient` (12 accumulators), or with
  /// `three` the first three (9). Always inlined with `three` a constant,
  /// so the three-row pass has no fourth row's loads, FMAs or sums.
  @inline(__always)
  static func gradientRows4(_ gy: UnsafePointer<Float>, _ gyStride: Int,
                            _ s0: UnsafePointer<Float>, _ s1: UnsafePointer<Float>, _ s2: UnsafePointer<Float>,
                            _ d: UnsafeMutablePointer<Float>, _ dwStride: Int, _ used: Int, _ q0: Int, _ q1: Int,
                            three: Bool = false) {
    var r0 = Row3(), r1 = Row3(), r2 = Row3(), r3 = Row3()
    var q = q0
    while q < q1 {
      let x0 = loadLanes(s0 + q), x1 = loadLanes(s1 + q), x2 = loadLanes(s2 + q), g = gy + q
      r0.add(loadLanes(g), x0, x1, x2)
      r1.add(loadLanes(g + gyStride), x0, x1, x2)
      r2.add(loadLanes(g + 2 * gyStride), x0, x1, x2)
      if !three { r3.add(loadLanes(g + 3 * gyStride), x0, x1, x2) }
      q += lanes
    }
    addSums(r0, d, used); addSums(r1, d + dwStride, used); addSums(r2, d + 2 * dwStride, used)
    if !three { addSums(r3, d + 3 * dwStride, used) }
  }
}
