/// 2-D convolution and transposed convolution: the argument checks and the
/// gradient rules. The arithmetic belongs to a `ConvolutionBackend`, chosen
/// once per layer shape (ConvolutionBackend.swift): riad's kernels over
/// planes, phases or positions, or im2col + sgemm (Im2colConvolution.swift).

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
    let backend = convolutionBackend(g, n: n, out: o)
    // The backend writes every element of y (its promise).
    let y = makeFloats(n * o * g.positions) { py in
      x.data.withUnsafeBufferPointer { px in
        w.data.withUnsafeBufferPointer { pw in backend.forward(px.baseAddress!, pw.baseAddress!, bias: b?.data, py.baseAddress!) }
      }
    }
    let inputs = [x, w] + (b.map { [$0] } ?? [])
    return Tensor(shape: [n, o, ho, wo], data: y).record("conv2d", inputs) { gy in
      gradients(x, w, b, gy, outChannels: o) { px, pw, pg, gx, gw in backend.backward(px, pw, pg, gx: gx, gw: gw) }
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
    // The convolution this is the adjoint of: it maps [Cout,Ho,Wo] to [Cin,H,W].
    let g = ConvGeometry(c: cout, h: ho, w: wo, kh: kh, kw: kw, stride: stride, pad: padding, ho: h, wo: wd)
    let backend = transposedConvolutionBackend(g, n: n, out: cin)
    let y = makeFloats(n * cout * ho * wo) { py in
      x.data.withUnsafeBufferPointer { px in
        w.data.withUnsafeBufferPointer { pw in
          backend.transposedForward(px.baseAddress!, pw.baseAddress!, bias: b?.data, py.baseAddress!)
        }
      }
    }
    let inputs = [x, w] + (b.map { [$0] } ?? [])
    return Tensor(shape: [n, cout, ho, wo], data: y).record("conv_transpose2d", inputs) { gy in
      gradients(x, w, b, gy, outChannels: cout) { px, pw, pg, gx, gw in
        backend.transposedBackward(px, pw, pg, gx: gx, gw: gw)
      }
    }
  }
}

/// The gradient rule both convolutions share: gx uninitialised (the backend
/// writes all of it), gw zeroed (the backend adds into it), the bias
/// gradient summed here; each only when its tensor needs it.
private func gradients(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ gy: Tensor, outChannels o: Int,
                       _ backward: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                                    UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void) -> [Tensor?] {
  var gx: [Float]? = x.requiresGrad ? makeFloats(x.count) { _ in } : nil
  var gw: [Float]? = w.requiresGrad ? [Float](repeating: 0, count: w.count) : nil
  gy.data.withUnsafeBufferPointer { pg in
    x.data.withUnsafeBufferPointer { px in
      w.data.withUnsafeBufferPointer { pw in
        withOptionalPointer(&gx) { pgx in
          withOptionalPointer(&gw) { pgw in backward(px.baseAddress!, pw.baseAddress!, pg.baseAddress!, pgx, pgw) }
        }
      }
    }
  }
  var grads: [Tensor?] = [gx.map { Tensor(shape: x.shape, data: $0) }, gw.map { Tensor(shape: w.shape, data: $0) }]
  if let b { grads.append(b.requiresGrad ? biasGradient(gy, o) : nil) }
  return grads
}

/// `body` with the array's storage, or with nil when there is no array.
private func withOptionalPointer<R>(_ a: inout [Float]?, _ body: (UnsafeMutablePointer<Float>?) -> R) -> R {
  if a == nil { return body(nil) }
  return a!.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
}

/// y[n, o, :] += b[o]
func addBias(_ y: UnsafeMutablePointer<Float>, _ b: [Float], _ n: Int, _ o: Int, _ p: Int) {
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
