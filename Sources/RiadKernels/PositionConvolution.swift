/// Output channels per block of the position-major kernels.
public let positionConvolutionChannelBlock = 64
/// Positions per block of the position-major forward kernel.
public let positionConvolutionPositionBlock = 6
/// Floats of packed weights one pass of the position-major forward kernel
/// reads: 128 KiB, within the level-2 cache of every processor the kernels
/// target (256 KiB per core and more).
public let positionConvolutionWeightBudget = 1 << 15

/// Kernels for convolutions of small images with many channels, where the
/// zero bands of `SameConvolution`'s planes would cost too many positions.
/// Here the input is *position-major* (all channels of one position
/// together), only real output positions are computed, and the lanes run
/// over output channels instead of over positions: six positions × one
/// `ChannelRow` (64 channels with 32 registers, 16 with AVX2's 16) in
/// registers, in as many passes as the 64 channels of a block need.
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
    // The taps in passes whose weights (`span · cin · 64` floats) stay in
    // the level-2 cache while every block of positions reads them; the
    // first pass stores the sums, the others add to them. One pass over all
    // taps would stream every weight from memory again for each block of
    // six positions (128 → 128 channels, 16 taps: 512 KiB per block).
    let span = max(1, min(taps, positionConvolutionWeightBudget / max(1, cin * positionConvolutionChannelBlock)))
    var t0 = 0
    while t0 < taps {
      let t1 = min(taps, t0 + span)
      var p = 0
      while p < count {
        for j0 in stride(from: 0, to: positionConvolutionChannelBlock, by: ChannelRow.width) {
          var rows = InlineArray<6, ChannelRow>(repeating: ChannelRow())
          if t0 > 0 { for k in 0..<6 { rows[k] = ChannelRow(loading: dst + (p + k) * dstStride + j0) } }
          var wp = w + t0 * cin * positionConvolutionChannelBlock + j0
          for t in t0..<t1 {
            // The six positions' rows of input channels at this tap.
            var sources = InlineArray<6, UnsafePointer<Float>>(repeating: src)
            for k in 0..<6 { sources[k] = src + (positions[p + k] + offsets[t]) * cin }
            for c in 0..<cin {
              let weights = ChannelRow(loading: wp)
              for k in 0..<6 { rows[k].add(Lanes(repeating: sources[k][c]), weights) }
              wp += positionConvolutionChannelBlock
            }
          }
          for k in 0..<6 { rows[k].store(dst + (p + k) * dstStride + j0) }
        }
        p += positionConvolutionPositionBlock
      }
      t0 = t1
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
    for j0 in stride(from: 0, to: positionConvolutionChannelBlock, by: ChannelRow.width) {
      var rows = InlineArray<6, ChannelRow>(repeating: ChannelRow())
      for p in 0..<count {
        let r = src + (positions[p] + offset) * cin + c0
        let g = ChannelRow(loading: gy + p * gyStride + j0)
        for k in 0..<6 { rows[k].add(Lanes(repeating: r[k]), g) }
      }
      for k in 0..<6 { rows[k].addStore(dw + k * dwStride + j0) }
    }
  }
}
