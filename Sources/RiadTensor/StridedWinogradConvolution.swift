/// The U-Net's 4×4 stride-2 convolutions (padding 1) and their transposes by
/// phases and Winograd's F(2×2, 2×2).
///
/// Split the fine input x into its four phase images by row and column
/// parity φ = (pr, pc). Output pixel (Y, X) of the strided convolution reads
/// fine rows 2Y − 1 … 2Y + 2: rows 2Y and 2Y + 2 (taps 1 and 3) of parity 0,
/// rows 2Y − 1 and 2Y + 1 (taps 0 and 2) of parity 1. So with
/// `d_φ(i, j) = x(2i − pr, 2j − pc)` and the 2×2 kernel
/// `k_φ(u, v) = w[tap(pr, u)][tap(pc, v)]`, `tap(0, u) = 2u + 1`,
/// `tap(1, u) = 2u`, the convolution is
///
///     y(Y, X) = Σ_φ Σ_c Σ_{u,v} k_φ[c](u, v) · d_φ[c](Y + u, X + v),
///
/// a 2×2 correlation over 4C stacked phase channels on the coarse grid.
/// F(2×2, 2×2) computes each 2×2 output tile from a 3×3 input tile with 9
/// multiplies instead of 16, all exact (no fractions):
///
///     Bᵀ = [1 −1 0; 0 1 0; 0 −1 1],  G = [1 0; 1 1; 0 1],  Aᵀ = [1 1 0; 0 1 1],
///
/// so the layer is 9 sgemm calls `M[ξ] = U[ξ] · V[ξ]` (`[O×4C]·[4C×tiles]`)
/// between transforms, as in WinogradConvolution.swift.
///
/// The transposed convolution is the adjoint: fine pixel (2i' + pr, 2j' + pc)
/// is `Σ_o Σ_{u,v} k_φ(1 − u, 1 − v) · g(i' + pr − 1 + u, j' + pc − 1 + v)`,
/// a 2×2 correlation of the coarse input per output phase (four rounds of 9
/// products `[C×O]·[O×tiles]`). Gradients: the strided convolution's input
/// gradient is the transposed forward of its output gradient and the other
/// way round; both weight gradients are `Gᵀ (Σ_t dM_t ⊙ V_t) G` with the
/// fine image as V's source and the coarse one as dM's (`dM = A dy Aᵀ`).
struct StridedWinogradBackend: TransposedConvolutionBackend {
  /// The strided convolution's geometry: fine C×H×W images to coarse H/2×W/2.
  let g: ConvGeometry
  let n: Int, o: Int
  var name: String { "winograd" }

  init?(_ g: ConvGeometry, n: Int, out o: Int) {
    guard g.kh == 4, g.kw == 4, g.stride == 2, g.pad == 1, g.h % 2 == 0, g.w % 2 == 0 else { return nil }
    self.g = g; self.n = n; self.o = o
  }

  /// Where the automatic policy takes it: as for the 3×3 case, 64 channels
  /// or more on both sides and at least 128 tiles of the coarse grid; then
  /// with the AVX2 kernels (each block in several passes) or none, or, over
  /// the other kernels' phases, 256 channels or more on both sides (the
  /// paper's model from 64² down, where the phase planes hold few positions
  /// per channel and the products are large). Measured against the AVX-512
  /// phase kernels it is level for 64–128 channels (the multiplies saved are
  /// 16/9, and its transforms read the fine grid four times), and against
  /// the position-major kernels on small grids it loses; against the AVX2
  /// phases it is 5–10 % faster over the U-Net's layers at 256²
  /// (docs/performance.md). With the AVX2 kernels, below 256 tiles it
  /// leaves the small grids the position-major kernels take first
  /// (`StridedPositionBackend.smallGrid`): at 64/16/8, 16² → 8² with 64 → 128 channels and 8² → 16² with
  /// 128 → 64, they took 2.5 ms for forward and backward against 2.6, and
  /// ran the forward of the second at 76 % of sgemm against 55 %.
  var pays: Bool {
    guard min(g.c, o) >= 64, tiles.count >= 128 else { return false }
    if kernelVariant == .avx2 { return tiles.count >= 256 || StridedPositionBackend(g, n: n, out: o)?.smallGrid != true }
    if kernelVariant == nil { return true }
    guard min(g.c, o) >= 256, let phases = PhaseConvolution(n: n, h: g.h, w: g.w, kernel: 4, stride: 2, pad: 1) else {
      return false
    }
    return phases.planes.waste <= 1.2  // where the automatic choice would otherwise take phases
  }

  /// 2×2 tiles of the coarse grid.
  var tiles: TileGrid { TileGrid(images: n, height: g.ho, width: g.wo, side: 2) }

  // MARK: The four entry points

  func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
    strided(x, w, bias: bias, y)
  }

  func backward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
    if let gx { transposed(gy, w, bias: nil, gx) }
    if let gw { weightGradient(fine: x, coarse: gy, gw) }
  }

  func transposedForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
    transposed(x, w, bias: bias, y)
  }

  func transposedBackward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                          gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
    if let gx { strided(gy, w, bias: nil, gx) }
    if let gw { weightGradient(fine: gy, coarse: x, gw) }
  }

  // MARK: Algorithms

  /// Coarse `y[n][o][ho][wo]` from fine `x[n][c][h][w]`: 9 products over the
  /// stacked phases. V and M are written whole per chunk before they are
  /// read; every coarse pixel lies in one tile, so y is written whole.
  func strided(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
    let c = g.c, inner = 4 * c
    let u = kernels(rows: o, inner: inner) { oc, k, a, b in
      let phase = k / c, ch = k % c
      return w[((oc * c + ch) * 4 + tap(phase >> 1, a)) * 4 + tap(phase & 1, b)]
    }
    let tiles = tiles, chunk = tiles.chunk(entries: 9, rows: o, inner: inner)
    let vs = streamStride(inner * chunk), ms = streamStride(o * chunk)
    withScratch(9 * (vs + ms)) { scratch in
      let v = scratch, m = scratch + 9 * vs
      u.withUnsafeBufferPointer { pu in
        for t0 in stride(from: 0, to: tiles.count, by: chunk) {
          let count = min(chunk, tiles.count - t0)
          transformPhases(x, first: t0, count: count, into: v, stride: vs)
          winogradProducts(9, rows: o, inner: inner, count: count, pu.baseAddress!, streamStride(o * inner), v, vs, m, ms)
          transformOutput(m, stride: ms, channels: o, first: t0, count: count, bias: bias) { image, ch, i, j in
            y + ((image * o + ch) * g.ho + i) * g.wo + j
          }
        }
      }
    }
  }

  /// Fine `y[n][c][h][w]` from coarse `x[n][o][ho][wo]`, one output phase at
  /// a time. Every fine pixel belongs to one phase and one of its tiles, so
  /// y is written whole.
  func transposed(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
    let c = g.c
    let tiles = tiles, chunk = tiles.chunk(entries: 9, rows: c, inner: o)
    let vs = streamStride(o * chunk), ms = streamStride(c * chunk)
    withScratch(9 * (vs + ms)) { scratch in
      let v = scratch, m = scratch + 9 * vs
      for phase in 0..<4 {
        let pr = phase >> 1, pc = phase & 1
        // k̃(a, b) = k_φ(1 − a, 1 − b), rows c, inner o.
        let u = kernels(rows: c, inner: o) { ch, oc, a, b in
          w[((oc * c + ch) * 4 + tap(pr, 1 - a)) * 4 + tap(pc, 1 - b)]
        }
        u.withUnsafeBufferPointer { pu in
          for t0 in stride(from: 0, to: tiles.count, by: chunk) {
            let count = min(chunk, tiles.count - t0)
            transformCoarse(x, channels: o, first: t0, count: count, shift: (pr - 1, pc - 1), into: v, stride: vs)
            winogradProducts(9, rows: c, inner: o, count: count, pu.baseAddress!, streamStride(c * o), v, vs, m, ms)
            transformOutput(m, stride: ms, channels: c, first: t0, count: count, bias: bias) { image, ch, i, j in
              y + ((image * c + ch) * g.h + 2 * i + pr) * g.w + 2 * j + pc
            }
          }
        }
      }
    }
  }

  /// `gw[o][c][ky][kx] += Σ` over tiles of `Gᵀ (dM ⊙ V) G`, V from the fine
  /// images' phases and dM from the coarse ones. dU is written by the first
  /// chunk's products (beta 0) and added to by the rest.
  func weightGradient(fine: UnsafePointer<Float>, coarse: UnsafePointer<Float>, _ gw: UnsafeMutablePointer<Float>) {
    let c = g.c, inner = 4 * c
    let tiles = tiles, chunk = tiles.chunk(entries: 9, rows: o, inner: inner)
    let us = streamStride(o * inner), vs = streamStride(inner * chunk), ms = streamStride(o * chunk)
    withScratch(9 * (us + vs + ms)) { scratch in
      let du = scratch, v = du + 9 * us, dm = v + 9 * vs
      for t0 in stride(from: 0, to: tiles.count, by: chunk) {
        let count = min(chunk, tiles.count - t0)
        transformPhases(fine, first: t0, count: count, into: v, stride: vs)
        transformGradient(coarse, first: t0, count: count, into: dm, stride: ms)
        winogradWeightProducts(9, rows: o, inner: inner, count: count, dm, ms, v, vs, du, us, adding: t0 > 0)
      }
      // Gᵀ D G for each (o, phase, c): rows D0 + D1, D1 + D2, then the same on columns.
      parallelFor(o, cost: 40 * inner) { oc in
        for k in 0..<inner {
          let pair = oc * inner + k, phase = k / c, ch = k % c
          var d = InlineArray<9, Float>(repeating: 0)
          for xi in 0..<9 { d[xi] = du[xi * us + pair] }
          let out = gw + (oc * c + ch) * 16
          for a in 0..<2 {
            let r0 = d[3 * a] + d[3 * a + 3], r1 = d[3 * a + 1] + d[3 * a + 4], r2 = d[3 * a + 2] + d[3 * a + 5]
            let row = tap(phase >> 1, a) * 4
            out[row + tap(phase & 1, 0)] += r0 + r1
            out[row + tap(phase & 1, 1)] += r1 + r2
          }
        }
      }
    }
  }

  // MARK: Transforms

  /// `u[ξ·streamStride(rows · inner) + r·inner + i] = (G k Gᵀ)[ξ]` for the
  /// 2×2 kernels `k(a, b) = value(r, i, a, b)`; every entry is written, the
  /// padding after each stream zeroed.
  func kernels(rows: Int, inner: Int, _ value: (Int, Int, Int, Int) -> Float) -> [Float] {
    let pairs = streamStride(rows * inner)
    return makeFloats(9 * pairs) { buffer in
      let u = buffer.baseAddress!
      for xi in 0..<9 { (u + xi * pairs + rows * inner).update(repeating: 0, count: pairs - rows * inner) }
      parallelFor(rows, cost: 40 * inner) { r in
        for i in 0..<inner {
          let k00 = value(r, i, 0, 0), k01 = value(r, i, 0, 1), k10 = value(r, i, 1, 0), k11 = value(r, i, 1, 1)
          // G k: rows k0, k0 + k1, k1; then each row (p, q) as p, p + q, q.
          let rows: InlineArray<6, Float> = [k00, k01, k00 + k10, k01 + k11, k10, k11]
          let pair = r * inner + i
          for a in 0..<3 {
            let p = rows[2 * a], q = rows[2 * a + 1]
            u[(3 * a) * pairs + pair] = p
            u[(3 * a + 1) * pairs + pair] = p + q
            u[(3 * a + 2) * pairs + pair] = q
          }
        }
      }
    }
  }

  /// `v[ξ·plane + (φ·c + ch)·count + t − first] = (Bᵀ d B)[ξ]` with d the
  /// 3×3 tile of phase φ's image `d_φ(i, j) = x(2i − pr, 2j − pc)` at coarse (2ty, 2tx), zero
  /// outside the fine image. Every entry of the chunk is written.
  func transformPhases(_ x: UnsafePointer<Float>, first: Int, count: Int,
                       into v: UnsafeMutablePointer<Float>, stride plane: Int) {
    let c = g.c, h = g.h, w = g.w
    parallelFor(c, cost: 100 * count) { ch in
      tiles.forEachRun(first: first, count: count) { image, ty, tx0, tx1, k0 in
        let base = x + (image * c + ch) * h * w
        for phase in 0..<4 {
          let pr = phase >> 1, pc = phase & 1
          let out = v + (phase * c + ch) * count + k0
          for tx in tx0..<tx1 {
            var d = InlineArray<9, Float>(repeating: 0)
            for a in 0..<3 {
              let r = 4 * ty + 2 * a - pr
              guard r >= 0 && r < h else { continue }
              for b in 0..<3 {
                let s = 4 * tx + 2 * b - pc
                if s >= 0 && s < w { d[3 * a + b] = base[r * w + s] }
              }
            }
            store(d, out + (tx - tx0), plane)
          }
        }
      }
    }
  }

  /// `v[ξ·plane + ch·count + t − first] = (Bᵀ d B)[ξ]` with d the 3×3 tile of the coarse
  /// image `x[n][channels][ho][wo]` at (2ty + shift.0, 2tx + shift.1), zero
  /// outside. Every entry of the chunk is written.
  func transformCoarse(_ x: UnsafePointer<Float>, channels: Int, first: Int, count: Int, shift: (Int, Int),
                       into v: UnsafeMutablePointer<Float>, stride plane: Int) {
    let h = g.ho, w = g.wo
    parallelFor(channels, cost: 30 * count) { ch in
      tiles.forEachRun(first: first, count: count) { image, ty, tx0, tx1, k0 in
        let base = x + (image * channels + ch) * h * w
        let out = v + ch * count + k0
        for tx in tx0..<tx1 {
          var d = InlineArray<9, Float>(repeating: 0)
          for a in 0..<3 {
            let r = 2 * ty + shift.0 + a
            guard r >= 0 && r < h else { continue }
            for b in 0..<3 {
              let s = 2 * tx + shift.1 + b
              if s >= 0 && s < w { d[3 * a + b] = base[r * w + s] }
            }
          }
          store(d, out + (tx - tx0), plane)
        }
      }
    }
  }

  /// Writes `Bᵀ d B` of a 3×3 tile `d` to `out[ξ·plane]`, ξ = 0 ..< 9.
  @inline(__always)
  func store(_ d: InlineArray<9, Float>, _ out: UnsafeMutablePointer<Float>, _ plane: Int) {
    // Bᵀ d: rows d0 − d1, d1, d2 − d1 of d; then the same on each row's columns.
    let e: InlineArray<9, Float> = [d[0] - d[3], d[1] - d[4], d[2] - d[5], d[3], d[4], d[5],
                                    d[6] - d[3], d[7] - d[4], d[8] - d[5]]
    for a in 0..<3 {
      let p = e[3 * a], q = e[3 * a + 1], s = e[3 * a + 2]
      out[(3 * a) * plane] = p - q
      out[(3 * a + 1) * plane] = q
      out[(3 * a + 2) * plane] = s - q
    }
  }

  /// `dm[ξ·plane + oc·count + t − first] = (A dy Aᵀ)[ξ]` for the 2×2 tiles of the coarse
  /// `dy[n][o][ho][wo]` (zero past the edge). Every entry is written.
  func transformGradient(_ dy: UnsafePointer<Float>, first: Int, count: Int,
                         into dm: UnsafeMutablePointer<Float>, stride plane: Int) {
    let h = g.ho, w = g.wo
    parallelFor(o, cost: 30 * count) { oc in
      tiles.forEachRun(first: first, count: count) { image, ty, tx0, tx1, k0 in
        let base = dy + (image * o + oc) * h * w
        let out = dm + oc * count + k0
        for tx in tx0..<tx1 {
          let y = 2 * ty, x = 2 * tx
          let a = base[y * w + x]
          let b = x + 1 < w ? base[y * w + x + 1] : 0
          let c = y + 1 < h ? base[(y + 1) * w + x] : 0
          let d = y + 1 < h && x + 1 < w ? base[(y + 1) * w + x + 1] : 0
          // A dy: rows (a, b), (a + c, b + d), (c, d); each row (p, q) times Aᵀ: p, p + q, q.
          let rows: InlineArray<6, Float> = [a, b, a + c, b + d, c, d]
          let at = out + (tx - tx0)
          for r in 0..<3 {
            let p = rows[2 * r], q = rows[2 * r + 1]
            at[(3 * r) * plane] = p
            at[(3 * r + 1) * plane] = p + q
            at[(3 * r + 2) * plane] = q
          }
        }
      }
    }
  }

  /// For each tile of the chunk and channel, `Aᵀ M A` (+ bias) into the
  /// tile's pixels (i, j) of the coarse grid that exist, at `pixel(image, ch, i, j)`.
  func transformOutput(_ m: UnsafePointer<Float>, stride plane: Int, channels: Int, first: Int, count: Int,
                       bias: [Float]?, pixel: (Int, Int, Int, Int) -> UnsafeMutablePointer<Float>) {
    let h = g.ho, w = g.wo
    parallelFor(channels, cost: 30 * count) { ch in
      let b = bias?[ch] ?? 0
      tiles.forEachRun(first: first, count: count) { image, ty, tx0, tx1, k0 in
        let at = m + ch * count + k0
        for tx in tx0..<tx1 {
          let e = at + (tx - tx0)
          // Aᵀ M: rows M0 + M1 and M1 + M2; then the same on columns.
          let s0 = e[0] + e[3 * plane], s1 = e[plane] + e[4 * plane], s2 = e[2 * plane] + e[5 * plane]
          let z0 = e[3 * plane] + e[6 * plane], z1 = e[4 * plane] + e[7 * plane], z2 = e[5 * plane] + e[8 * plane]
          let y = 2 * ty, x = 2 * tx
          pixel(image, ch, y, x).pointee = s0 + s1 + b
          if x + 1 < w { pixel(image, ch, y, x + 1).pointee = s1 + s2 + b }
          if y + 1 < h {
            pixel(image, ch, y + 1, x).pointee = z0 + z1 + b
            if x + 1 < w { pixel(image, ch, y + 1, x + 1).pointee = z1 + z2 + b }
          }
        }
      }
    }
  }
}

/// The kernel row (or column) of tap u ∈ {0, 1} of phase parity p: taps 1
/// and 3 read even fine rows, taps 0 and 2 odd ones.
@inline(__always)
private func tap(_ parity: Int, _ u: Int) -> Int { parity == 0 ? 2 * u + 1 : 2 * u }
