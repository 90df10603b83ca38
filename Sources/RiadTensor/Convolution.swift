/// 2-D convolution and transposed convolution by im2col + GEMM.
///
/// Both use one layout trick: a chunk of `nb` images is unfolded into a
/// column matrix `col[C·kh·kw, nb·Ho·Wo]`, so that one `sgemm` covers the whole
/// chunk. A transposed convolution is the data-gradient of a convolution: its
/// forward is a GEMM followed by col2im, its backward an im2col followed by GEMMs.

/// The geometry of sliding a kh×kw window over a C×H×W image with stride and
/// zero padding, giving Ho×Wo window positions.
struct ConvGeometry {
  let c, h, w, kh, kw, stride, pad, ho, wo: Int
  var rows: Int { c * kh * kw }
  var positions: Int { ho * wo }

  /// The output columns ox whose input column ox·s − p + j lies inside [0, W).
  @inline(__always)
  func validRange(_ j: Int, extent: Int, out: Int) -> (Int, Int) {
    let lo = max(0, (pad - j + stride - 1) / stride)
    let hiNum = extent - 1 + pad - j
    let hi = hiNum < 0 ? -1 : min(out - 1, hiNum / stride)
    return (lo, hi)
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

extension Tensor {
  /// `conv2d(x, w, b, stride, padding)` with PyTorch layouts: x `[N,C,H,W]`,
  /// w `[O,C,kh,kw]`, b `[O]`, result `[N,O,Ho,Wo]`, Ho = (H + 2p − kh)/s + 1.
  public static func conv2d(_ x: Tensor, _ w: Tensor, _ b: Tensor? = nil,
                            stride: Int = 1, padding: Int = 0) throws -> Tensor {
    guard x.rank == 4 else { throw TensorError("conv2d: input must be [N,C,H,W], got \(x.shape.shapeString)") }
    guard w.rank == 4 else { throw TensorError("conv2d: weight must be [O,C,kh,kw], got \(w.shape.shapeString)") }
    guard x.shape[1] == w.shape[1] else {
      throw TensorError("conv2d: input has \(x.shape[1]) channels, weight expects \(w.shape[1])")
    }
    if let b, b.shape != [w.shape[0]] {
      throw TensorError("conv2d: bias must be [\(w.shape[0])], got \(b.shape.shapeString)")
    }
    guard stride >= 1, padding >= 0 else { throw TensorError("conv2d: stride must be ≥ 1 and padding ≥ 0") }
    let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
    let ho = (h + 2 * padding - kh) / stride + 1, wo = (wd + 2 * padding - kw) / stride + 1
    guard h + 2 * padding >= kh, wd + 2 * padding >= kw else {
      throw TensorError("conv2d: a \(kh)×\(kw) kernel does not fit a \(h)×\(wd) input with padding \(padding)")
    }
    let g = ConvGeometry(c: c, h: h, w: wd, kh: kh, kw: kw, stride: stride, pad: padding, ho: ho, wo: wo)
    let p = g.positions
    let chunk = chunkSize(n, g.rows * p)
    // Every output element is written by exactly one chunk: no zero fill.
    let path = convolutionPath(g, n: n, out: o)
    let y = makeFloats(n * o * p) { py in
    x.data.withUnsafeBufferPointer { px in
      w.data.withUnsafeBufferPointer { pw in
        switch path {
        case .planes:
          sameConvolutionForward(px.baseAddress!, pw.baseAddress!, bias: b?.data, g, n: n, out: o, py.baseAddress!)
          return
        case .positions:
          positionConvolutionForward(px.baseAddress!, pw.baseAddress!, bias: b?.data, g, n: n, out: o, py.baseAddress!)
          return
        case .phases(let phase):
          phase.conv2dForward(px.baseAddress!, channels: c, pw.baseAddress!, out: o, bias: b?.data, py.baseAddress!)
          return
        case .im2col: break
        }
          withScratch(g.rows * chunk * p + o * chunk * p) { scratch in
            let col = scratch, tmp = scratch + g.rows * chunk * p
            for n0 in Swift.stride(from: 0, to: n, by: chunk) {
              let nb = Swift.min(chunk, n - n0)
              im2col(px.baseAddress! + n0 * c * h * wd, nb, g, col)
              sgemm(false, false, o, nb * p, g.rows, 1, pw.baseAddress!, g.rows, col, nb * p, 0, tmp, nb * p)
              fromChannelMajor(tmp, nb, o, p, py.baseAddress! + n0 * o * p)
            }
          }
          if let b { addBias(py.baseAddress!, b.data, n, o, p) }
      }
    }
    }
    let inputs = [x, w] + (b.map { [$0] } ?? [])
    return Tensor(shape: [n, o, ho, wo], data: y).record("conv2d", inputs) { gy in
      // A kernel path writes all of gx (writesInFull); col2im adds into zeros.
      var gx: [Float]? = !x.requiresGrad ? nil
        : path.writesInFull ? makeFloats(x.count) { _ in } : [Float](repeating: 0, count: x.count)
      var gw: [Float]? = w.requiresGrad ? [Float](repeating: 0, count: w.count) : nil
      gy.data.withUnsafeBufferPointer { pg in
        x.data.withUnsafeBufferPointer { px in
          w.data.withUnsafeBufferPointer { pw in
            if path.writesInFull {
              withOptionalPointer(&gx) { pgx in
                withOptionalPointer(&gw) { pgw in
                  switch path {
                  case .planes:
                    sameConvolutionBackward(px.baseAddress!, pw.baseAddress!, pg.baseAddress!, g, n: n, out: o,
                                            gx: pgx, gw: pgw)
                  case .positions:
                    positionConvolutionBackward(px.baseAddress!, pw.baseAddress!, pg.baseAddress!, g, n: n, out: o,
                                                gx: pgx, gw: pgw)
                  case .phases(let phase):
                    phase.conv2dBackward(px.baseAddress!, channels: c, pw.baseAddress!, out: o, pg.baseAddress!,
                                         gx: pgx, gw: pgw)
                  case .im2col: break
                  }
                }
              }
              return
            }
            withScratch(g.rows * chunk * p + o * chunk * p) { scratch in
              let col = scratch, gyT = scratch + g.rows * chunk * p
              for n0 in Swift.stride(from: 0, to: n, by: chunk) {
                let nb = Swift.min(chunk, n - n0)
                toChannelMajor(pg.baseAddress! + n0 * o * p, nb, o, p, gyT)
                if gw != nil {
                  // dW = dY · colᵀ
                  im2col(px.baseAddress! + n0 * c * h * wd, nb, g, col)
                  gw!.withUnsafeMutableBufferPointer { pgw in
                    sgemm(false, true, o, g.rows, nb * p, 1, gyT, nb * p, col, nb * p, 1, pgw.baseAddress!, g.rows)
                  }
                }
                if gx != nil {
                  // dcol = Wᵀ · dY, folded back onto the image
                  sgemm(true, false, g.rows, nb * p, o, 1, pw.baseAddress!, g.rows, gyT, nb * p, 0, col, nb * p)
                  gx!.withUnsafeMutableBufferPointer { pgx in
                    col2im(col, nb, g, pgx.baseAddress! + n0 * c * h * wd)
                  }
                }
              }
            }
          }
        }
      }
      var grads: [Tensor?] = [gx.map { Tensor(shape: x.shape, data: $0) },
                              gw.map { Tensor(shape: w.shape, data: $0) }]
      if let b { grads.append(b.requiresGrad ? biasGradient(gy, o) : nil) }
      return grads
    }
  }

  /// `conv_transpose2d(x, w, b, stride, padding)` with PyTorch layouts: x
  /// `[N,Cin,H,W]`, w `[Cin,Cout,kh,kw]`, result `[N,Cout,Ho,Wo]` with
  /// Ho = (H − 1)·s − 2p + kh.
  public static func convTranspose2d(_ x: Tensor, _ w: Tensor, _ b: Tensor? = nil,
                                     stride: Int = 1, padding: Int = 0) throws -> Tensor {
    guard x.rank == 4 else { throw TensorError("conv_transpose2d: input must be [N,C,H,W], got \(x.shape.shapeString)") }
    guard w.rank == 4 else { throw TensorError("conv_transpose2d: weight must be [Cin,Cout,kh,kw], got \(w.shape.shapeString)") }
    guard x.shape[1] == w.shape[0] else {
      throw TensorError("conv_transpose2d: input has \(x.shape[1]) channels, weight expects \(w.shape[0])")
    }
    if let b, b.shape != [w.shape[1]] {
      throw TensorError("conv_transpose2d: bias must be [\(w.shape[1])], got \(b.shape.shapeString)")
    }
    guard stride >= 1, padding >= 0 else { throw TensorError("conv_transpose2d: stride must be ≥ 1 and padding ≥ 0") }
    let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (cout, kh, kw) = (w.shape[1], w.shape[2], w.shape[3])
    let ho = (h - 1) * stride - 2 * padding + kh, wo = (wd - 1) * stride - 2 * padding + kw
    guard ho > 0, wo > 0 else { throw TensorError("conv_transpose2d: padding \(padding) leaves no output") }
    // The convolution whose data-gradient this is: it maps [Cout,Ho,Wo] to [.., H, W].
    let g = ConvGeometry(c: cout, h: ho, w: wo, kh: kh, kw: kw, stride: stride, pad: padding, ho: h, wo: wd)
    let p = h * wd, outSize = cout * ho * wo
    let chunk = chunkSize(n, g.rows * p)
    var phase: PhaseConvolution? = nil
    if case .phases(let p) = convolutionPath(g, n: n, out: cin) { phase = p }
    // The phase path writes every element; col2im adds into zeros.
    var y = phase != nil ? makeFloats(n * outSize) { _ in } : [Float](repeating: 0, count: n * outSize)
    x.data.withUnsafeBufferPointer { px in
      w.data.withUnsafeBufferPointer { pw in
        y.withUnsafeMutableBufferPointer { py in
          if let phase {
            phase.transposedForward(px.baseAddress!, channels: cin, pw.baseAddress!, out: cout, bias: b?.data,
                                    py.baseAddress!)
            return
          }
          withScratch(g.rows * chunk * p + cin * chunk * p) { scratch in
            let col = scratch, xT = scratch + g.rows * chunk * p
            for n0 in Swift.stride(from: 0, to: n, by: chunk) {
              let nb = Swift.min(chunk, n - n0)
              toChannelMajor(px.baseAddress! + n0 * cin * p, nb, cin, p, xT)
              sgemm(true, false, g.rows, nb * p, cin, 1, pw.baseAddress!, g.rows, xT, nb * p, 0, col, nb * p)
              col2im(col, nb, g, py.baseAddress! + n0 * outSize)
            }
          }
          if let b { addBias(py.baseAddress!, b.data, n, cout, ho * wo) }
        }
      }
    }
    let inputs = [x, w] + (b.map { [$0] } ?? [])
    return Tensor(shape: [n, cout, ho, wo], data: y).record("conv_transpose2d", inputs) { gy in
      // The phase path writes all of gx (a convolution of gy); im2col writes it by sgemm with beta 0.
      var gx: [Float]? = x.requiresGrad ? (phase != nil ? makeFloats(x.count) { _ in } : [Float](repeating: 0, count: x.count)) : nil
      var gw: [Float]? = w.requiresGrad ? [Float](repeating: 0, count: w.count) : nil
      gy.data.withUnsafeBufferPointer { pg in
        x.data.withUnsafeBufferPointer { px in
          w.data.withUnsafeBufferPointer { pw in
            if let phase {
              withOptionalPointer(&gx) { pgx in
                withOptionalPointer(&gw) { pgw in
                  phase.transposedBackward(px.baseAddress!, channels: cin, pw.baseAddress!, out: cout, pg.baseAddress!,
                                           gx: pgx, gw: pgw)
                }
              }
              return
            }
            withScratch(g.rows * chunk * p + 2 * cin * chunk * p) { scratch in
              let col = scratch, xT = scratch + g.rows * chunk * p, gxT = xT + cin * chunk * p
              for n0 in Swift.stride(from: 0, to: n, by: chunk) {
                let nb = Swift.min(chunk, n - n0)
                im2col(pg.baseAddress! + n0 * outSize, nb, g, col)
                if gw != nil {
                  // dW = xᵀ-layout · dcolᵀ
                  toChannelMajor(px.baseAddress! + n0 * cin * p, nb, cin, p, xT)
                  gw!.withUnsafeMutableBufferPointer { pgw in
                    sgemm(false, true, cin, g.rows, nb * p, 1, xT, nb * p, col, nb * p, 1, pgw.baseAddress!, g.rows)
                  }
                }
                if gx != nil {
                  // dx = W · dcol
                  sgemm(false, false, cin, nb * p, g.rows, 1, pw.baseAddress!, g.rows, col, nb * p, 0, gxT, nb * p)
                  gx!.withUnsafeMutableBufferPointer { pgx in
                    fromChannelMajor(gxT, nb, cin, p, pgx.baseAddress! + n0 * cin * p)
                  }
                }
              }
            }
          }
        }
      }
      var grads: [Tensor?] = [gx.map { Tensor(shape: x.shape, data: $0) },
                              gw.map { Tensor(shape: w.shape, data: $0) }]
      if let b { grads.append(b.requiresGrad ? biasGradient(gy, cout) : nil) }
      return grads
    }
  }
}

/// `body` with the array's storage, or with nil when there is no array.
private func withOptionalPointer<R>(_ a: inout [Float]?, _ body: (UnsafeMutablePointer<Float>?) -> R) -> R {
  if a == nil { return body(nil) }
  return a!.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
}

/// y[n, o, :] += b[o]
private func addBias(_ y: UnsafeMutablePointer<Float>, _ b: [Float], _ n: Int, _ o: Int, _ p: Int) {
  for i in 0..<n { for ch in 0..<o { let v = b[ch]; let row = y + (i * o + ch) * p; for k in 0..<p { row[k] += v } } }
}

/// The bias gradient: the output gradient summed over images and positions.
private func biasGradient(_ gy: Tensor, _ o: Int) -> Tensor {
  let n = gy.shape[0], p = gy.count / max(n * o, 1)
  // Element ch is written by channel ch's sum.
  let gb = makeFloats(o) { pgb in
    gy.data.withUnsafeBufferPointer { pg in
      parallelFor(o, cost: n * p) { ch in
        var s: Double = 0
        for i in 0..<n { s += sumOf(pg.baseAddress! + (i * o + ch) * p, p) }
        pgb[ch] = Float(s)
      }
    }
  }
  return Tensor(shape: [o], data: gb)
}
