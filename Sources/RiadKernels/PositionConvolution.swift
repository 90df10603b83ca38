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
      var rows = InlineArray<6, Row4>(repeating: Row4())
      var wp = w
      for t in 0..<taps {
        // The six positions' rows of input channels at this tap.
        var sources = InlineArray<6, UnsafePointer<Float>>(repeating: src)
        for k in 0..<6 { sources[k] = src + (positions[p + k] + offsets[t]) * cin }
        for c in 0..<cin {
          let w0 = load(wp), w1 = load(wp + 16), w2 = load(wp + 32), w3 = load(wp + 48)
          for k in 0..<6 { rows[k].add(Lanes(repeating: sources[k][c]), w0, w1, w2, w3) }
          wp += 64
        }
      }
      for k in 0..<6 { rows[k].store(dst + (p + k) * dstStride) }
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
    var rows = InlineArray<6, Row4>(repeating: Row4())
    for p in 0..<count {
      let r = src + (positions[p] + offset) * cin + c0, g = gy + p * gyStride
      let g0 = load(g), g1 = load(g + 16), g2 = load(g + 32), g3 = load(g + 48)
      for k in 0..<6 { rows[k].add(Lanes(repeating: r[k]), g0, g1, g2, g3) }
    }
    for k in 0..<6 {
      let d = dw + k * dwStride
      store(load(d) + rows[k].v0, d); store(load(d + 16) + rows[k].v1, d + 16)
      store(load(d + 32) + rows[k].v2, d + 32); store(load(d + 48) + rows[k].v3, d + 48)
    }
  }
}
