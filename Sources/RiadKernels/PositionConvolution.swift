/// Output channels per block of the position-major kernels: four vectors.
public let positionConvolutionChannelBlock = 64
/// Positions per block of the position-major forward kernel.
public let positionConvolutionPositionBlock = 6

/// Kernels for convolutions of small images with many channels, where the
/// zero bands of `SameConvolution`'s planes would cost too many positions.
/// Here the input is *position-major* (all channels of one position
/// together), only real output positions are computed, and the lanes run
/// over 64 output channels instead of over positions.
public enum PositionConvolution {
  /// Six listed positions × 64 output channels:
  ///
  ///     dst[p·dstStride + j] = Σ_t Σ_c w[(t·cin + c)·64 + j] · src[(positions[p] + offsets[t])·cin + c]
  ///
  /// for p in 0..<count (a multiple of 6).
  public static func forward(src: UnsafePointer<Float>, cin: Int,
                             offsets: UnsafePointer<Int>, taps: Int,
                             positions: UnsafePointer<Int>, count: Int,
                             w: UnsafePointer<Float>,
                             dst: UnsafeMutablePointer<Float>, dstStride: Int) {
    var p = 0
    while p < count {
      var a00 = Lanes(), a01 = Lanes(), a02 = Lanes(), a03 = Lanes()
      var a10 = Lanes(), a11 = Lanes(), a12 = Lanes(), a13 = Lanes()
      var a20 = Lanes(), a21 = Lanes(), a22 = Lanes(), a23 = Lanes()
      var a30 = Lanes(), a31 = Lanes(), a32 = Lanes(), a33 = Lanes()
      var a40 = Lanes(), a41 = Lanes(), a42 = Lanes(), a43 = Lanes()
      var a50 = Lanes(), a51 = Lanes(), a52 = Lanes(), a53 = Lanes()
      var wp = w
      for t in 0..<taps {
        let o = offsets[t]
        let r0 = src + (positions[p] + o) * cin, r1 = src + (positions[p + 1] + o) * cin
        let r2 = src + (positions[p + 2] + o) * cin, r3 = src + (positions[p + 3] + o) * cin
        let r4 = src + (positions[p + 4] + o) * cin, r5 = src + (positions[p + 5] + o) * cin
        for c in 0..<cin {
          let w0 = load(wp), w1 = load(wp + 16), w2 = load(wp + 32), w3 = load(wp + 48)
          var b = Lanes(repeating: r0[c])
          a00 = a00.addingProduct(b, w0); a01 = a01.addingProduct(b, w1); a02 = a02.addingProduct(b, w2); a03 = a03.addingProduct(b, w3)
          b = Lanes(repeating: r1[c])
          a10 = a10.addingProduct(b, w0); a11 = a11.addingProduct(b, w1); a12 = a12.addingProduct(b, w2); a13 = a13.addingProduct(b, w3)
          b = Lanes(repeating: r2[c])
          a20 = a20.addingProduct(b, w0); a21 = a21.addingProduct(b, w1); a22 = a22.addingProduct(b, w2); a23 = a23.addingProduct(b, w3)
          b = Lanes(repeating: r3[c])
          a30 = a30.addingProduct(b, w0); a31 = a31.addingProduct(b, w1); a32 = a32.addingProduct(b, w2); a33 = a33.addingProduct(b, w3)
          b = Lanes(repeating: r4[c])
          a40 = a40.addingProduct(b, w0); a41 = a41.addingProduct(b, w1); a42 = a42.addingProduct(b, w2); a43 = a43.addingProduct(b, w3)
          b = Lanes(repeating: r5[c])
          a50 = a50.addingProduct(b, w0); a51 = a51.addingProduct(b, w1); a52 = a52.addingProduct(b, w2); a53 = a53.addingProduct(b, w3)
          wp += 64
        }
      }
      let d = dst + p * dstStride
      store4(d, a00, a01, a02, a03); store4(d + dstStride, a10, a11, a12, a13)
      store4(d + 2 * dstStride, a20, a21, a22, a23); store4(d + 3 * dstStride, a30, a31, a32, a33)
      store4(d + 4 * dstStride, a40, a41, a42, a43); store4(d + 5 * dstStride, a50, a51, a52, a53)
      p += positionConvolutionPositionBlock
    }
  }

  /// The weight gradient of one tap for six input channels × 64 output
  /// channels, summed over `count` listed positions, added into `dw`:
  ///
  ///     dw[i·dwStride + j] += Σ_p src[(positions[p] + offset)·cin + c0 + i] · gy[p·gyStride + j]
  ///
  /// Reads six channels from c0 even when fewer remain (the caller drops those sums).
  public static func weightGradient(src: UnsafePointer<Float>, cin: Int, c0: Int, offset: Int,
                                    positions: UnsafePointer<Int>, count: Int,
                                    gy: UnsafePointer<Float>, gyStride: Int,
                                    dw: UnsafeMutablePointer<Float>, dwStride: Int) {
    var a00 = Lanes(), a01 = Lanes(), a02 = Lanes(), a03 = Lanes()
    var a10 = Lanes(), a11 = Lanes(), a12 = Lanes(), a13 = Lanes()
    var a20 = Lanes(), a21 = Lanes(), a22 = Lanes(), a23 = Lanes()
    var a30 = Lanes(), a31 = Lanes(), a32 = Lanes(), a33 = Lanes()
    var a40 = Lanes(), a41 = Lanes(), a42 = Lanes(), a43 = Lanes()
    var a50 = Lanes(), a51 = Lanes(), a52 = Lanes(), a53 = Lanes()
    for p in 0..<count {
      let r = src + (positions[p] + offset) * cin + c0, g = gy + p * gyStride
      let g0 = load(g), g1 = load(g + 16), g2 = load(g + 32), g3 = load(g + 48)
      var b = Lanes(repeating: r[0])
      a00 = a00.addingProduct(b, g0); a01 = a01.addingProduct(b, g1); a02 = a02.addingProduct(b, g2); a03 = a03.addingProduct(b, g3)
      b = Lanes(repeating: r[1])
      a10 = a10.addingProduct(b, g0); a11 = a11.addingProduct(b, g1); a12 = a12.addingProduct(b, g2); a13 = a13.addingProduct(b, g3)
      b = Lanes(repeating: r[2])
      a20 = a20.addingProduct(b, g0); a21 = a21.addingProduct(b, g1); a22 = a22.addingProduct(b, g2); a23 = a23.addingProduct(b, g3)
      b = Lanes(repeating: r[3])
      a30 = a30.addingProduct(b, g0); a31 = a31.addingProduct(b, g1); a32 = a32.addingProduct(b, g2); a33 = a33.addingProduct(b, g3)
      b = Lanes(repeating: r[4])
      a40 = a40.addingProduct(b, g0); a41 = a41.addingProduct(b, g1); a42 = a42.addingProduct(b, g2); a43 = a43.addingProduct(b, g3)
      b = Lanes(repeating: r[5])
      a50 = a50.addingProduct(b, g0); a51 = a51.addingProduct(b, g1); a52 = a52.addingProduct(b, g2); a53 = a53.addingProduct(b, g3)
    }
    func add(_ row: Int, _ s0: Lanes, _ s1: Lanes, _ s2: Lanes, _ s3: Lanes) {
      let d = dw + row * dwStride
      store4(d, load(d) + s0, load(d + 16) + s1, load(d + 32) + s2, load(d + 48) + s3)
    }
    add(0, a00, a01, a02, a03); add(1, a10, a11, a12, a13); add(2, a20, a21, a22, a23)
    add(3, a30, a31, a32, a33); add(4, a40, a41, a42, a43); add(5, a50, a51, a52, a53)
  }
}
