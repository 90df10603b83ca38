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
  public static func forward(src: UnsafePointer<Float>, planeStride: Int, cin: Int,
                             offsets: UnsafePointer<Int>, offsetStride: Int = 0, taps: Int,
                             w: UnsafePointer<Float>,
                             dst: UnsafeMutablePointer<Float>, dstStride: Int,
                             q0: Int, q1: Int) {
    var q = q0
    while q < q1 {
      var a00 = Lanes(), a01 = Lanes(), a02 = Lanes()
      var a10 = Lanes(), a11 = Lanes(), a12 = Lanes()
      var a20 = Lanes(), a21 = Lanes(), a22 = Lanes()
      var a30 = Lanes(), a31 = Lanes(), a32 = Lanes()
      var a40 = Lanes(), a41 = Lanes(), a42 = Lanes()
      var a50 = Lanes(), a51 = Lanes(), a52 = Lanes()
      var a60 = Lanes(), a61 = Lanes(), a62 = Lanes()
      var a70 = Lanes(), a71 = Lanes(), a72 = Lanes()
      var wp = w
      for c in 0..<cin {
        let plane = src + c * planeStride + q, taps0 = offsets + c * offsetStride
        for t in 0..<taps {
          let s = plane + taps0[t]
          let x0 = load(s), x1 = load(s + 16), x2 = load(s + 32)
          var b = Lanes(repeating: wp[0])
          a00 = a00.addingProduct(b, x0); a01 = a01.addingProduct(b, x1); a02 = a02.addingProduct(b, x2)
          b = Lanes(repeating: wp[1])
          a10 = a10.addingProduct(b, x0); a11 = a11.addingProduct(b, x1); a12 = a12.addingProduct(b, x2)
          b = Lanes(repeating: wp[2])
          a20 = a20.addingProduct(b, x0); a21 = a21.addingProduct(b, x1); a22 = a22.addingProduct(b, x2)
          b = Lanes(repeating: wp[3])
          a30 = a30.addingProduct(b, x0); a31 = a31.addingProduct(b, x1); a32 = a32.addingProduct(b, x2)
          b = Lanes(repeating: wp[4])
          a40 = a40.addingProduct(b, x0); a41 = a41.addingProduct(b, x1); a42 = a42.addingProduct(b, x2)
          b = Lanes(repeating: wp[5])
          a50 = a50.addingProduct(b, x0); a51 = a51.addingProduct(b, x1); a52 = a52.addingProduct(b, x2)
          b = Lanes(repeating: wp[6])
          a60 = a60.addingProduct(b, x0); a61 = a61.addingProduct(b, x1); a62 = a62.addingProduct(b, x2)
          b = Lanes(repeating: wp[7])
          a70 = a70.addingProduct(b, x0); a71 = a71.addingProduct(b, x1); a72 = a72.addingProduct(b, x2)
          wp += 8
        }
      }
      let d = dst + q
      store3(d, a00, a01, a02); store3(d + dstStride, a10, a11, a12)
      store3(d + 2 * dstStride, a20, a21, a22); store3(d + 3 * dstStride, a30, a31, a32)
      store3(d + 4 * dstStride, a40, a41, a42); store3(d + 5 * dstStride, a50, a51, a52)
      store3(d + 6 * dstStride, a60, a61, a62); store3(d + 7 * dstStride, a70, a71, a72)
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
                                dst: UnsafeMutablePointer<Float>, q0: Int, q1: Int) {
    var q = q0
    while q < q1 {
      var a0 = Lanes(), a1 = Lanes(), a2 = Lanes()
      var b0 = Lanes(), b1 = Lanes(), b2 = Lanes()
      var wp = w
      for c in 0..<cin {
        let plane = src + c * planeStride + q, taps0 = offsets + c * offsetStride
        var t = 0
        // Two taps at a time into two sets of sums: twice the independent FMAs.
        while t + 1 < taps {
          let s = plane + taps0[t], u = plane + taps0[t + 1]
          let v = Lanes(repeating: wp[0]), z = Lanes(repeating: wp[wStride])
          a0 = a0.addingProduct(v, load(s)); a1 = a1.addingProduct(v, load(s + 16)); a2 = a2.addingProduct(v, load(s + 32))
          b0 = b0.addingProduct(z, load(u)); b1 = b1.addingProduct(z, load(u + 16)); b2 = b2.addingProduct(z, load(u + 32))
          wp += 2 * wStride
          t += 2
        }
        if t < taps {
          let s = plane + taps0[t], v = Lanes(repeating: wp[0])
          a0 = a0.addingProduct(v, load(s)); a1 = a1.addingProduct(v, load(s + 16)); a2 = a2.addingProduct(v, load(s + 32))
          wp += wStride
        }
      }
      store3(dst + q, a0 + b0, a1 + b1, a2 + b2)
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
      // A missing second or third source repeats the first; its sums are dropped.
      let s0 = sources[i], s1 = sources[min(i + 1, count - 1)], s2 = sources[min(i + 2, count - 1)]
      var a00 = Lanes(), a01 = Lanes(), a02 = Lanes()
      var a10 = Lanes(), a11 = Lanes(), a12 = Lanes()
      var a20 = Lanes(), a21 = Lanes(), a22 = Lanes()
      var a30 = Lanes(), a31 = Lanes(), a32 = Lanes()
      var a40 = Lanes(), a41 = Lanes(), a42 = Lanes()
      var a50 = Lanes(), a51 = Lanes(), a52 = Lanes()
      var a60 = Lanes(), a61 = Lanes(), a62 = Lanes()
      var a70 = Lanes(), a71 = Lanes(), a72 = Lanes()
      var q = q0
      while q < q1 {
        let x0 = load(s0 + q), x1 = load(s1 + q), x2 = load(s2 + q)
        let g = gy + q
        var y = load(g)
        a00 = a00.addingProduct(y, x0); a01 = a01.addingProduct(y, x1); a02 = a02.addingProduct(y, x2)
        y = load(g + gyStride)
        a10 = a10.addingProduct(y, x0); a11 = a11.addingProduct(y, x1); a12 = a12.addingProduct(y, x2)
        y = load(g + 2 * gyStride)
        a20 = a20.addingProduct(y, x0); a21 = a21.addingProduct(y, x1); a22 = a22.addingProduct(y, x2)
        y = load(g + 3 * gyStride)
        a30 = a30.addingProduct(y, x0); a31 = a31.addingProduct(y, x1); a32 = a32.addingProduct(y, x2)
        y = load(g + 4 * gyStride)
        a40 = a40.addingProduct(y, x0); a41 = a41.addingProduct(y, x1); a42 = a42.addingProduct(y, x2)
        y = load(g + 5 * gyStride)
        a50 = a50.addingProduct(y, x0); a51 = a51.addingProduct(y, x1); a52 = a52.addingProduct(y, x2)
        y = load(g + 6 * gyStride)
        a60 = a60.addingProduct(y, x0); a61 = a61.addingProduct(y, x1); a62 = a62.addingProduct(y, x2)
        y = load(g + 7 * gyStride)
        a70 = a70.addingProduct(y, x0); a71 = a71.addingProduct(y, x1); a72 = a72.addingProduct(y, x2)
        q += 16
      }
      let used = min(3, count - i)
      func add(_ row: Int, _ u0: Lanes, _ u1: Lanes, _ u2: Lanes) {
        let d = dw + row * dwStride + i
        d[0] += u0.sum()
        if used > 1 { d[1] += u1.sum() }
        if used > 2 { d[2] += u2.sum() }
      }
      add(0, a00, a01, a02); add(1, a10, a11, a12); add(2, a20, a21, a22); add(3, a30, a31, a32)
      add(4, a40, a41, a42); add(5, a50, a51, a52); add(6, a60, a61, a62); add(7, a70, a71, a72)
      i += 3
    }
  }
}
