/// im2col + OpenBLAS: the convolution every processor runs, and the
/// reference the tests hold riad's kernels to.
///
/// A chunk of `nb` images is unfolded into a column matrix
/// `col[C·kh·kw, nb·Ho·Wo]`, so that one `sgemm` covers the whole chunk. The
/// transposed convolution is the data-gradient of a convolution: its
/// forward is a GEMM followed by col2im, its backward an im2col followed by GEMMs.
struct Im2colBackend: TransposedConvolutionBackend {
  let g: ConvGeometry
  let n: Int, o: Int
  var name: String { "im2col" }

  /// Images per column matrix.
  var chunk: Int { chunkSize(n, g.rows * g.positions) }
  var inSize: Int { g.c * g.h * g.w }
  var outSize: Int { o * g.positions }

  func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
    let p = g.positions, chunk = chunk
    // Each chunk's images of y are written by fromChannelMajor, whole.
    withScratch(g.rows * chunk * p + o * chunk * p) { scratch in
      let col = scratch, tmp = scratch + g.rows * chunk * p
      for n0 in Swift.stride(from: 0, to: n, by: chunk) {
        let nb = Swift.min(chunk, n - n0)
        im2col(x + n0 * inSize, nb, g, col)
        sgemm(false, false, o, nb * p, g.rows, 1, w, g.rows, col, nb * p, 0, tmp, nb * p)
        fromChannelMajor(tmp, nb, o, p, y + n0 * outSize)
      }
    }
    if let bias { addBias(y, bias, n, o, p) }
  }

  func backward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
    let p = g.positions, chunk = chunk
    // col2im adds every window into gx: it starts from zeros.
    gx?.update(repeating: 0, count: n * inSize)
    withScratch(g.rows * chunk * p + o * chunk * p) { scratch in
      let col = scratch, gyT = scratch + g.rows * chunk * p
      for n0 in Swift.stride(from: 0, to: n, by: chunk) {
        let nb = Swift.min(chunk, n - n0)
        toChannelMajor(gy + n0 * outSize, nb, o, p, gyT)
        if let gw {
          // dW = dY · colᵀ
          im2col(x + n0 * inSize, nb, g, col)
          sgemm(false, true, o, g.rows, nb * p, 1, gyT, nb * p, col, nb * p, 1, gw, g.rows)
        }
        if let gx {
          // dcol = Wᵀ · dY, folded back onto the image
          sgemm(true, false, g.rows, nb * p, o, 1, w, g.rows, gyT, nb * p, 0, col, nb * p)
          col2im(col, nb, g, gx + n0 * inSize)
        }
      }
    }
  }

  func transposedForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
    let p = g.positions, chunk = chunk
    // col2im adds into y: it starts from zeros.
    y.update(repeating: 0, count: n * inSize)
    withScratch(g.rows * chunk * p + o * chunk * p) { scratch in
      let col = scratch, xT = scratch + g.rows * chunk * p
      for n0 in Swift.stride(from: 0, to: n, by: chunk) {
        let nb = Swift.min(chunk, n - n0)
        toChannelMajor(x + n0 * outSize, nb, o, p, xT)
        sgemm(true, false, g.rows, nb * p, o, 1, w, g.rows, xT, nb * p, 0, col, nb * p)
        col2im(col, nb, g, y + n0 * inSize)
      }
    }
    if let bias { addBias(y, bias, n, g.c, g.h * g.w) }
  }

  func transposedBackward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                          gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
    let p = g.positions, chunk = chunk
    withScratch(g.rows * chunk * p + 2 * o * chunk * p) { scratch in
      let col = scratch, xT = scratch + g.rows * chunk * p, gxT = xT + o * chunk * p
      for n0 in Swift.stride(from: 0, to: n, by: chunk) {
        let nb = Swift.min(chunk, n - n0)
        im2col(gy + n0 * inSize, nb, g, col)
        if let gw {
          // dW = xᵀ-layout · dcolᵀ
          toChannelMajor(x + n0 * outSize, nb, o, p, xT)
          sgemm(false, true, o, g.rows, nb * p, 1, xT, nb * p, col, nb * p, 1, gw, g.rows)
        }
        if let gx {
          // dx = W · dcol; each chunk's images of gx written whole by fromChannelMajor
          sgemm(false, false, o, nb * p, g.rows, 1, w, g.rows, col, nb * p, 0, gxT, nb * p)
          fromChannelMajor(gxT, nb, o, p, gx + n0 * outSize)
        }
      }
    }
  }
}

/// Unfolds images `src[nb, C, H, W]` into `col[rows, nb·Ho·Wo]`.
func im2col(_ src: UnsafePointer<Float>, _ nb: Int, _ g: ConvGeometry, _ col: UnsafeMutablePointer<Float>) {
  let ld = nb * g.positions
  let imageSize = g.c * g.h * g.w
  parallelFor(g.rows, cost: ld) { r in
    let c = r / (g.kh * g.kw), i = (r / g.kw) % g.kh, j = r % g.kw
    let (xLo, xHi) = g.validRange(j, extent: g.w, out: g.wo)
    var dst = col + r * ld
    for n in 0..<nb {
      let plane = src + n * imageSize + c * g.h * g.w
      for oy in 0..<g.ho {
        let iy = oy * g.stride - g.pad + i
        if iy < 0 || iy >= g.h || xLo > xHi {
          dst.update(repeating: 0, count: g.wo)
        } else {
          let rowPtr = plane + iy * g.w - g.pad + j
          for ox in 0..<xLo { dst[ox] = 0 }
          if g.stride == 1 {
            (dst + xLo).update(from: rowPtr + xLo, count: xHi - xLo + 1)
          } else {
            for ox in xLo...xHi { dst[ox] = rowPtr[ox * g.stride] }
          }
          for ox in (xHi + 1)..<max(xHi + 1, g.wo) { dst[ox] = 0 }
        }
        dst += g.wo
      }
    }
  }
}

/// Folds `col[rows, nb·Ho·Wo]` back onto images `dst[nb, C, H, W]`, adding
/// every window's contribution (the adjoint of `im2col`).
func col2im(_ col: UnsafePointer<Float>, _ nb: Int, _ g: ConvGeometry, _ dst: UnsafeMutablePointer<Float>) {
  let ld = nb * g.positions
  let imageSize = g.c * g.h * g.w
  parallelFor(g.c, cost: ld * g.kh * g.kw) { c in
    for i in 0..<g.kh {
      for j in 0..<g.kw {
        let r = (c * g.kh + i) * g.kw + j
        let (xLo, xHi) = g.validRange(j, extent: g.w, out: g.wo)
        if xLo > xHi { continue }
        var src = col + r * ld
        for n in 0..<nb {
          let plane = dst + n * imageSize + c * g.h * g.w
          for oy in 0..<g.ho {
            let iy = oy * g.stride - g.pad + i
            if iy >= 0 && iy < g.h {
              let rowPtr = plane + iy * g.w - g.pad + j
              for ox in xLo...xHi { rowPtr[ox * g.stride] += src[ox] }
            }
            src += g.wo
          }
        }
      }
    }
  }
}

/// `[nb, C, P]` (batch-major) ↔ `[C, nb·P]` (channel-major) copies.
func toChannelMajor(_ src: UnsafePointer<Float>, _ nb: Int, _ c: Int, _ p: Int, _ dst: UnsafeMutablePointer<Float>) {
  for n in 0..<nb { for ch in 0..<c { (dst + ch * nb * p + n * p).update(from: src + (n * c + ch) * p, count: p) } }
}
func fromChannelMajor(_ src: UnsafePointer<Float>, _ nb: Int, _ c: Int, _ p: Int, _ dst: UnsafeMutablePointer<Float>) {
  for n in 0..<nb { for ch in 0..<c { (dst + (n * c + ch) * p).update(from: src + ch * nb * p + n * p, count: p) } }
}

/// How many images share one column matrix: about 1 M floats (4 MiB), so
/// that the matrix im2col writes is still in cache when sgemm packs it.
func chunkSize(_ n: Int, _ perImage: Int) -> Int { max(1, min(n, (1 << 20) / max(perImage, 1))) }

