import CBLAS

/// Same 3×3 convolutions by Winograd's minimal filtering F(m×m, 3×3)
/// (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
/// CVPR 2016), with output tiles of m = 2 or 4 pixels a side.
///
/// The output is cut into m×m tiles; tile t reads the α×α input patch d_t
/// (α = m + 2) that starts one pixel above and left of it. A tile of output
/// channel o is `Aᵀ [Σ_c U[o][c] ⊙ V_t[c]] A` with `U = G g Gᵀ` (the 3×3
/// kernel g of (o, c) as an α×α matrix) and `V_t = Bᵀ d_t B`. For each of
/// the α² entries ξ of those matrices the sum over channels is one matrix
/// product, `M[ξ] = U[ξ] · V[ξ]` (`[O×C]·[C×tiles]`), so the whole layer is
/// α² sgemm calls between cheap transforms: 16 multiplies per 4 outputs and
/// input channel for F(2×2, 3×3), 36 per 16 for F(4×4, 3×3), where the
/// direct convolution needs 9 per output. The transforms (`WinogradF2`,
/// `WinogradF4`) are one-dimensional, applied along both axes of a tile.
/// It needs none of riad's kernels, so it serves every processor.
///
/// Backward: the input gradient is the same algorithm on the output
/// gradient with the kernel flipped in space and transposed in channels.
/// The weight gradient is the adjoint of the forward product: with
/// `dM_t = A dy_t Aᵀ` (each m×m output-gradient tile as an α×α matrix),
/// `dU[ξ] = Σ_t dM_t[ξ] · V_t[ξ]ᵀ` (α² more products) and `dg = Gᵀ dU G`.
///
/// Rounding: F(2×2, 3×3)'s transforms add at most four terms with weights
/// ±1 or ±½, so its results differ from the direct sum by a few units in
/// the last place of its largest terms. F(4×4, 3×3)'s weights reach 8 in
/// Aᵀ and 5 in Bᵀ, which multiplies those differences by ten or more (up to
/// about 4e-5 of the output's scale, measured on 64 channels); the tests
/// hold both to im2col.
struct WinogradBackend: ConvolutionBackend {
  /// The output tile's side.
  enum Tile { case two, four }
  let tile: Tile
  let g: ConvGeometry
  let n: Int, o: Int
  var name: String { tile == .two ? "winograd" : "winograd4" }

  init?(_ g: ConvGeometry, n: Int, out o: Int, tile: Tile) {
    guard g.kh == 3, g.kw == 3, g.stride == 1, g.pad == 1 else { return nil }
    self.g = g; self.n = n; self.o = o; self.tile = tile
  }

  /// What the automatic policy takes for this shape, or nil for riad's
  /// other backends: F(4×4, 3×3) for 2048 output pixels or more in the
  /// batch with 16 channels or more on each side; with 64 channels or more
  /// on each side, F(4×4, 3×3) also from 512 pixels while its kernels are
  /// few against them (c·o ≤ 128 · pixels), else F(2×2, 3×3) (down to a
  /// batch of 4² images).
  /// Measured on the U-Net's layers at 64/16/8, 128/32/4 and 256/64/1
  /// (docs/performance.md "Plane kernels, F(2×2, 3×3) and F(4×4, 3×3),
  /// layer by layer" and "F(4×4, 3×3) on small images"): F(4×4, 3×3) ran
  /// 15–90 % faster than riad's plane kernels and up to 40 % faster than
  /// F(2×2, 3×3) from 2048 pixels on. Below that its tiles are few for its
  /// 36 kernel matrices, which sgemm rereads for every product: with 8
  /// 8² images and 128 channels (c·o = 32 · pixels) or 4 16² images and
  /// 256 (64 ·) it still ran 10–35 % faster than F(2×2, 3×3), with 4 8²
  /// images and 256 channels (256 ·) or one 32² image and 512 (256 ·) it
  /// ran up to 40 % slower, and F(2×2, 3×3) wins by 40–70 % over the
  /// position-major kernels and im2col on 4²–16² images. With 32 → 32
  /// channels F(4×4, 3×3) beat the
  /// AVX-512 plane kernels by 0–40 % (four alternating rounds at 32² and
  /// 128²), the AVX2 ones by 5–25 %. With 16 channels on a side the plane
  /// kernels won by 40 % and more until the transforms went to vectors;
  /// since then F(4×4, 3×3) is ahead there too (64/16/8, six alternating
  /// rounds, forward + backward: 32 → 16 channels 19 % faster with either
  /// kernel variant, 16 → 16 4–10 % with AVX-512 and level with AVX2; "Every
  /// size, with a lighter loss and lighter indexing").
  static func automatic(_ g: ConvGeometry, n: Int, out o: Int) -> WinogradBackend? {
    let pixels = n * g.h * g.w, narrow = min(g.c, o)
    if pixels >= 2048 { return narrow >= 16 ? WinogradBackend(g, n: n, out: o, tile: .four) : nil }
    guard narrow >= 64 else { return nil }
    let fewKernels = pixels >= 512 && g.c * o <= 128 * pixels
    return WinogradBackend(g, n: n, out: o, tile: fewKernels ? .four : .two)
  }

  /// The output's tiles (the output is the size of the input).
  var tiles: TileGrid { TileGrid(images: n, height: g.h, width: g.w, side: tile == .two ? 2 : 4) }

  func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
    switch tile {
    case .two: forward(WinogradF2.self, x, w, bias: bias, y)
    case .four: forward(WinogradF4.self, x, w, bias: bias, y)
    }
  }

  func backward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
    switch tile {
    case .two: backward(WinogradF2.self, x, w, gy, gx: gx, gw: gw)
    case .four: backward(WinogradF4.self, x, w, gy, gx: gx, gw: gw)
    }
  }

  // MARK: One algorithm, specialized per tile

  private func forward<T: WinogradTransform>(_ t: T.Type, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                             bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
    let u = transformedKernels(t, w, flipped: false)
    convolve(t, x, channels: g.c, u, transposed: false, out: o, bias: bias, y)
  }

  private func backward<T: WinogradTransform>(_ t: T.Type, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                              _ gy: UnsafePointer<Float>,
                                              gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
    if let gx {
      let u = transformedKernels(t, w, flipped: true)
      convolve(t, gy, channels: o, u, transposed: true, out: g.c, bias: nil, gx)
    }
    if let gw { weightGradient(t, x, gy, gw) }
  }

  /// `dst[n][cout][h][w] = Aᵀ[Σ_c U ⊙ V]A` (+ bias) from `src[n][cin][h][w]`
  /// and the kernels `u` of `transformedKernels`: for each ξ a `[cout × cin]`
  /// matrix, or (`transposed`) a `[cin × cout]` one used transposed.
  private func convolve<T: WinogradTransform>(_ t: T.Type, _ src: UnsafePointer<Float>, channels cin: Int, _ u: [Float],
                                              transposed: Bool, out cout: Int, bias: [Float]?,
                                              _ dst: UnsafeMutablePointer<Float>) {
    let xis = T.alpha * T.alpha, tiles = tiles, chunk = tiles.chunk(entries: xis, rows: cout, inner: cin)
    let us = streamStride(cin * cout), vs = streamStride(cin * chunk), ms = streamStride(cout * chunk)
    // V and M are written whole for each chunk (by the input transform and
    // by sgemm with beta 0) before they are read (the padding between their
    // streams never is); every output pixel lies in exactly one tile, and
    // every tile in one chunk, so dst is written whole.
    withScratch(xis * (vs + ms)) { scratch in
      let v = scratch, m = scratch + xis * vs
      u.withUnsafeBufferPointer { pu in
        for t0 in stride(from: 0, to: tiles.count, by: chunk) {
          let count = min(chunk, tiles.count - t0)
          transformInput(t, src, channels: cin, first: t0, count: count, into: v, stride: vs)
          winogradProducts(xis, rows: cout, inner: cin, count: count, pu.baseAddress!, us, transposed: transposed,
                           v, vs, m, ms)
          transformOutput(t, m, stride: ms, channels: cout, first: t0, count: count, bias: bias, into: dst)
        }
      }
    }
  }

  /// `gw[o][c] += Gᵀ (Σ_t dM_t ⊙ V_t) G` over every tile.
  private func weightGradient<T: WinogradTransform>(_ t: T.Type, _ x: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                                                    _ gw: UnsafeMutablePointer<Float>) {
    let xis = T.alpha * T.alpha, c = g.c, pairs = o * c, tiles = tiles, chunk = tiles.chunk(entries: xis, rows: o, inner: c)
    let us = streamStride(pairs), vs = streamStride(c * chunk), ms = streamStride(o * chunk)
    // dU is written by the first chunk's products (beta 0) and added to by
    // the rest; V and dM are written whole per chunk before they are read
    // (the padding between streams never is).
    withScratch(xis * (us + vs + ms)) { scratch in
      let du = scratch, v = du + xis * us, dm = v + xis * vs
      for t0 in stride(from: 0, to: tiles.count, by: chunk) {
        let count = min(chunk, tiles.count - t0)
        transformInput(t, x, channels: c, first: t0, count: count, into: v, stride: vs)
        transformGradient(t, gy, channels: o, first: t0, count: count, into: dm, stride: ms)
        winogradWeightProducts(xis, rows: o, inner: c, count: count, dm, ms, v, vs, du, us, adding: t0 > 0)
      }
      // gw[pair][tap] += Σ_ξ dU[ξ][pair] · K[ξ][tap] (Gᵀ dU G, the adjoint
      // of the kernel transform): one product [pairs × α²]·[α² × 9], its
      // rows split among the threads.
      let k = kernelMatrix(t, reversed: false)
      k.withUnsafeBufferPointer { pk in
        let parts = min(workerThreads, max(1, pairs / 256))
        parallelProducts(parts) { part in
          let lo = pairs * part / parts, hi = pairs * (part + 1) / parts
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(hi - lo), 9, Int32(xis),
                      1, du + lo, Int32(us), pk.baseAddress!, 9, 1, gw + lo * 9, 9)
        }
      }
    }
  }

  /// The kernels as α² streams of `streamStride(o · c)` floats:
  /// `u[ξ][r·c + i] = (G k Gᵀ)[ξ]` for the 3×3 kernel k = `w[r][i]`, or
  /// (`flipped`, the input gradient's kernels) that kernel turned by 180°,
  /// which `convolve` then uses transposed. One product
  /// `[α² × 9]·[9 × o·c]` with the matrix of `kernelMatrix`. Every entry of
  /// every stream is written; the padding after each is zeroed.
  private func transformedKernels<T: WinogradTransform>(_ t: T.Type, _ w: UnsafePointer<Float>, flipped: Bool) -> [Float] {
    let xis = T.alpha * T.alpha, pairs = o * g.c, us = streamStride(pairs)
    let k = kernelMatrix(t, reversed: flipped)
    return makeFloats(xis * us) { buffer in
      let u = buffer.baseAddress!
      for xi in 0..<xis { (u + xi * us + pairs).update(repeating: 0, count: us - pairs) }
      k.withUnsafeBufferPointer { pk in
        sgemm(false, true, xis, pairs, 9, 1, pk.baseAddress!, 9, w, 9, 0, u, us)
      }
    }
  }

  /// The kernel transform as a matrix: `K[ξ][tap]` with ξ = p·α + q and
  /// tap = 3a + b is `G[p][a] · G[q][b]`, so that `G k Gᵀ` is `K · k` for a
  /// kernel k as 9 taps (or, `reversed`, as its taps in reverse order: the
  /// kernel turned by 180°). G's columns come from `T.kernel` applied to
  /// unit taps. Its transpose maps dU back to the kernel's gradient.
  private func kernelMatrix<T: WinogradTransform>(_ t: T.Type, reversed: Bool) -> [Float] {
    let a = T.alpha
    var columns = [Float](repeating: 0, count: 3 * a)  // columns[j·α + p] = G[p][j]
    columns.withUnsafeMutableBufferPointer { c in
      for j in 0..<3 {
        var unit: [Float] = [0, 0, 0]
        unit[j] = 1
        unit.withUnsafeBufferPointer { T.kernel($0.baseAddress!, 1, c.baseAddress! + j * a, 1) }
      }
    }
    var k = [Float](repeating: 0, count: a * a * 9)
    for p in 0..<a {
      for q in 0..<a {
        for tap in 0..<9 {
          let (i, j) = reversed ? ((8 - tap) / 3, (8 - tap) % 3) : (tap / 3, tap % 3)
          k[(p * a + q) * 9 + tap] = columns[i * a + p] * columns[j * a + q]
        }
      }
    }
    return k
  }

  /// `v[ξ·plane + c·count + t − first] = (Bᵀ d_t B)[ξ]` for tiles
  /// `first ..< first + count` of `src[n][channels][h][w]` (zeros outside
  /// the image). Every entry of the α² streams' `channels · count` floats is
  /// written: each run of tiles writes its `tx1 − tx0` entries of all of them.
  private func transformInput<T: WinogradTransform>(_ t: T.Type, _ src: UnsafePointer<Float>, channels: Int,
                                                    first: Int, count: Int,
                                                    into v: UnsafeMutablePointer<Float>, stride plane: Int) {
    let m = T.m, a = T.alpha, h = g.h, w = g.w, width = m * tiles.wide + 2
    parallelFor(channels, cost: 10 * a * a * count) { c in
      // α patch rows, copied with their zero padding, turned into the rows
      // of Bᵀ d in place; every column the run reads is written.
      // Plus `T.tilesReach` floats that the last row's eight-tile loads
      // read past its end (zeros, never used).
      withUnsafeTemporaryAllocation(of: Float.self, capacity: a * width + T.tilesReach) { buffer in
        let e = buffer.baseAddress!
        (e + a * width).initialize(repeating: 0, count: T.tilesReach)
        tiles.forEachRun(first: first, count: count) { image, ty, tx0, tx1, k0 in
          let base = src + (image * channels + c) * h * w
          let x0 = m * tx0 - 1, columns = m * (tx1 - tx0) + 2
          for r in 0..<a {
            let y = m * ty - 1 + r, row = e + r * width
            guard y >= 0 && y < h else { row.update(repeating: 0, count: columns); continue }
            let line = base + y * w
            let lo = max(0, -x0), hi = min(columns, w - x0)
            if lo > 0 { row.update(repeating: 0, count: lo) }
            if hi > lo { (row + lo).update(from: line + x0 + lo, count: hi - lo) }
            if hi < columns { (row + max(hi, lo)).update(repeating: 0, count: columns - max(hi, lo)) }
          }
          byEights(columns, { T.input8(e + $0, width, e + $0, width) }, { T.input(e + $0, width, e + $0, width) })
          let run = tx1 - tx0
          for i in 0..<a {
            let row = e + i * width, out = v + (a * i) * plane + c * count + k0
            byEights(run, { T.inputTiles8(row + m * $0, out + $0, plane) }, { T.input(row + m * $0, 1, out + $0, plane) })
          }
        }
      }
    }
  }

  /// `dm[ξ·plane + o·count + t − first] = (A dy_t Aᵀ)[ξ]` for tiles
  /// `first ..< first + count` of the output gradient `gy[n][channels][h][w]`
  /// (pixels past the image's edge count as zero). Every entry of the α²
  /// streams' `channels · count` floats is written, run by run.
  private func transformGradient<T: WinogradTransform>(_ t: T.Type, _ gy: UnsafePointer<Float>, channels: Int,
                                                       first: Int, count: Int,
                                                       into dm: UnsafeMutablePointer<Float>, stride plane: Int) {
    let m = T.m, a = T.alpha, h = g.h, w = g.w, width = m * tiles.wide
    parallelFor(channels, cost: 10 * a * a * count) { c in
      // The tile row's m gradient rows (zero past the image), then A dy in α rows.
      withUnsafeTemporaryAllocation(of: Float.self, capacity: (m + a) * width) { buffer in
        let rows = buffer.baseAddress!, e = rows + m * width
        tiles.forEachRun(first: first, count: count) { image, ty, tx0, tx1, k0 in
          let base = gy + (image * channels + c) * h * w
          let x0 = m * tx0, columns = m * (tx1 - tx0), inside = min(columns, w - x0)
          for r in 0..<m {
            let y = m * ty + r, row = rows + r * width
            guard y < h else { row.update(repeating: 0, count: columns); continue }
            row.update(from: base + y * w + x0, count: inside)
            if inside < columns { (row + inside).update(repeating: 0, count: columns - inside) }
          }
          byEights(columns, { T.gradient8(rows + $0, width, e + $0, width) }, { T.gradient(rows + $0, width, e + $0, width) })
          let run = tx1 - tx0
          for i in 0..<a {
            let row = e + i * width, out = dm + (a * i) * plane + c * count + k0
            byEights(run, { T.gradientTiles8(row + m * $0, out + $0, plane) }, { T.gradient(row + m * $0, 1, out + $0, plane) })
          }
        }
      }
    }
  }

  /// `dst` pixels of tiles `first ..< first + count` from
  /// `mm[ξ·plane + o·count + t − first]`: `Aᵀ M A` (+ bias), each tile's
  /// pixels inside the image.
  private func transformOutput<T: WinogradTransform>(_ t: T.Type, _ mm: UnsafePointer<Float>, stride plane: Int,
                                                     channels: Int, first: Int, count: Int, bias: [Float]?,
                                                     into dst: UnsafeMutablePointer<Float>) {
    let m = T.m, a = T.alpha, h = g.h, w = g.w
    // Aᵀ M goes into m × α rows (row i, column j at (i·α + j)·span): run
    // by run where a tile row holds eight tiles or more (`span` one row's
    // tiles, in L1), else for the whole chunk at once (`span` = count), so
    // that narrow images still go eight tiles at a time. Either way a run
    // reads only the columns `columns` wrote for it (its tiles' k0 ..< k0 + run).
    let wholeChunk = tiles.wide < 8, span = wholeChunk ? count : tiles.wide
    parallelFor(channels, cost: 10 * a * a * count) { c in
      let b = bias?[c] ?? 0
      withUnsafeTemporaryAllocation(of: Float.self, capacity: m * a * span) { buffer in
        let s = buffer.baseAddress!, at = mm + c * count
        // Aᵀ M for tiles k0 ..< k0 + n of the chunk, to columns 0 ..< n of s.
        func columns(_ k0: Int, _ n: Int) {
          for j in 0..<a {
            let from = at + k0 + j * plane, to = s + j * span
            byEights(n, { T.output8(from + $0, a * plane, to + $0, a * span) }, { T.output(from + $0, a * plane, to + $0, a * span) })
          }
        }
        if wholeChunk { columns(0, count) }
        tiles.forEachRun(first: first, count: count) { image, ty, tx0, tx1, k0 in
          let run = tx1 - tx0
          if !wholeChunk { columns(k0, run) }
          // Then A along each pixel row of the tiles: whole tiles, then the
          // pixels of the last one inside the image (at most one sticks out).
          let base = dst + (image * channels + c) * h * w, column = wholeChunk ? k0 : 0
          let whole = min(run, (w - m * tx0) / m), rest = min(m, w - m * (tx0 + whole))
          for i in 0..<m where m * ty + i < h {
            let line = base + (m * ty + i) * w + m * tx0, r = s + i * a * span + column
            var k = 0
            while k + 8 <= whole { T.outputTiles8(r + k, span, line + m * k, bias: b); k += 8 }
            while k < run {
              // A whole tile, or the last one's `rest` pixels inside the image.
              let tile = r + k, to = line + m * k, inside = k < whole ? m : rest
              T.output({ tile[$0 * span] }, { p, x in if p < inside { to[p] = x + b } })
              k += 1
            }
          }
        }
      }
    }
  }
}

/// One of Winograd's algorithms F(m×m, 3×3): its tile sizes and its four
/// one-dimensional transforms (the kernel's adjoint, Gᵀ, is the transpose
/// of `kernelMatrix`). Each transform is written once, over a `TransformLane`:
/// it gets its values from `value(i)` and hands its results to
/// `result(i, x)`, reading every value before it hands over one (so the
/// two may be the same memory). The pointer forms below read at `s`,
/// `s + ss`, … and write at `d`, `d + ds`, …, one float or (the `…8`
/// forms) eight consecutive floats at each.
protocol WinogradTransform {
  /// Output pixels per tile side.
  static var m: Int { get }
  /// Bᵀ: α values of an input patch to α.
  static func input<L: TransformLane>(_ value: (Int) -> L, _ result: (Int, L) -> Void)
  /// G: the 3 taps of a kernel row or column to α (read once, by
  /// `kernelMatrix`).
  static func kernel(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>, _ ds: Int)
  /// Aᵀ: α products to m output pixels.
  static func output<L: TransformLane>(_ value: (Int) -> L, _ result: (Int, L) -> Void)
  /// A, the adjoint of `output`: m output-gradient pixels to α.
  static func gradient<L: TransformLane>(_ value: (Int) -> L, _ result: (Int, L) -> Void)
  /// The input patches' values i of eight consecutive tiles along a row,
  /// tile k's at `s[m·k + i]`, as lanes k (vector loads and shuffles;
  /// they read `tilesReach` floats past the last tile's α).
  static func tiles8(_ s: UnsafePointer<Float>, count: Int) -> InlineArray<6, SIMD8<Float>>
  static var tilesReach: Int { get }
  /// Eight tiles' m pixels, `pixels[p]` lane k, interleaved to
  /// `d[m·k + p]`.
  static func storeTiles8(_ pixels: InlineArray<6, SIMD8<Float>>, _ d: UnsafeMutablePointer<Float>)
}

/// What the transforms compute on: one float, or eight (eight tiles or
/// eight columns at once).
protocol TransformLane {
  static func + (a: Self, b: Self) -> Self
  static func - (a: Self, b: Self) -> Self
  static func * (a: Float, b: Self) -> Self
  static prefix func - (a: Self) -> Self
}

extension Float: TransformLane {}
extension SIMD8: TransformLane where Scalar == Float {}

extension WinogradTransform {
  /// Input patch pixels per tile side.
  static var alpha: Int { m + 2 }

  @inline(__always)
  static func input(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>, _ ds: Int) {
    input({ s[$0 * ss] }, { d[$0 * ds] = $1 })
  }

  @inline(__always)
  static func output(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>, _ ds: Int) {
    output({ s[$0 * ss] }, { d[$0 * ds] = $1 })
  }

  @inline(__always)
  static func gradient(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>, _ ds: Int) {
    gradient({ s[$0 * ss] }, { d[$0 * ds] = $1 })
  }

  /// `input` on eight consecutive columns at once.
  @inline(__always)
  static func input8(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>, _ ds: Int) {
    input({ lanes(s + $0 * ss) }, { storeLanes($1, d + $0 * ds) })
  }

  /// `output` on eight consecutive columns at once.
  @inline(__always)
  static func output8(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>, _ ds: Int) {
    output({ lanes(s + $0 * ss) }, { storeLanes($1, d + $0 * ds) })
  }

  /// `gradient` on eight consecutive columns at once.
  @inline(__always)
  static func gradient8(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>, _ ds: Int) {
    gradient({ lanes(s + $0 * ss) }, { storeLanes($1, d + $0 * ds) })
  }

  /// Bᵀ along one row for eight consecutive tiles, tile k reading
  /// `s[m·k ..< m·k + α]`, result i of tile k to `d[i·ds + k]`.
  @inline(__always)
  static func inputTiles8(_ s: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ ds: Int) {
    let values = tiles8(s, count: alpha)
    input({ values[$0] }, { storeLanes($1, d + $0 * ds) })
  }

  /// A along one row for eight consecutive tiles, tile k reading its m
  /// gradient pixels at `s[m·k ..< m·k + m]`, result i to `d[i·ds + k]`.
  @inline(__always)
  static func gradientTiles8(_ s: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ ds: Int) {
    let values = tiles8(s, count: m)
    gradient({ values[$0] }, { storeLanes($1, d + $0 * ds) })
  }

  /// Aᵀ along one row for eight consecutive tiles: value j of tile k at
  /// `s[j·ss + k]`; tile k's m pixels, plus `bias`, to `d[m·k ..< m·k + m]`.
  @inline(__always)
  static func outputTiles8(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>, bias: Float) {
    var pixels = InlineArray<6, SIMD8<Float>>(repeating: SIMD8())
    output({ lanes(s + $0 * ss) }, { pixels[$0] = $1 + bias })
    storeTiles8(pixels, d)
  }
}

/// F(2×2, 3×3), on the points 0, ±1 and ∞:
///
///     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
///     G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
///     Aᵀ = [1 1 1 0; 0 1 −1 −1]
enum WinogradF2: WinogradTransform {
  static var m: Int { 2 }
  static var tilesReach: Int { 0 }

  @inline(__always)
  static func input<L: TransformLane>(_ value: (Int) -> L, _ result: (Int, L) -> Void) {
    let d0 = value(0), d1 = value(1), d2 = value(2), d3 = value(3)
    result(0, d0 - d2); result(1, d1 + d2); result(2, d2 - d1); result(3, d1 - d3)
  }

  static func kernel(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>, _ ds: Int) {
    let g0 = s[0], g1 = s[ss], g2 = s[2 * ss]
    d[0] = g0; d[ds] = 0.5 * (g0 + g1 + g2); d[2 * ds] = 0.5 * (g0 - g1 + g2); d[3 * ds] = g2
  }

  @inline(__always)
  static func output<L: TransformLane>(_ value: (Int) -> L, _ result: (Int, L) -> Void) {
    let m0 = value(0), m1 = value(1), m2 = value(2), m3 = value(3)
    result(0, m0 + m1 + m2); result(1, m1 - m2 - m3)
  }

  @inline(__always)
  static func gradient<L: TransformLane>(_ value: (Int) -> L, _ result: (Int, L) -> Void) {
    let y0 = value(0), y1 = value(1)
    result(0, y0); result(1, y0 + y1); result(2, y0 - y1); result(3, -y1)
  }

  /// Tile k's values 0…3 start at s[2k]: the even and odd lanes of
  /// s[0 ..< 16], then of s[2 ..< 18] (read only when `count` > 2).
  @inline(__always)
  static func tiles8(_ s: UnsafePointer<Float>, count: Int) -> InlineArray<6, SIMD8<Float>> {
    var v = InlineArray<6, SIMD8<Float>>(repeating: SIMD8())
    let a = UnsafeRawPointer(s).loadUnaligned(as: SIMD16<Float>.self)
    v[0] = a.evenHalf; v[1] = a.oddHalf
    if count > 2 {
      let b = UnsafeRawPointer(s + 2).loadUnaligned(as: SIMD16<Float>.self)
      v[2] = b.evenHalf; v[3] = b.oddHalf
    }
    return v
  }

  @inline(__always)
  static func storeTiles8(_ pixels: InlineArray<6, SIMD8<Float>>, _ d: UnsafeMutablePointer<Float>) {
    var out = SIMD16<Float>()
    out.evenHalf = pixels[0]; out.oddHalf = pixels[1]
    UnsafeMutableRawPointer(d).storeBytes(of: out, as: SIMD16<Float>.self)
  }
}

/// F(4×4, 3×3), on the points 0, ±1, ±2 and ∞:
///
///     Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0;
///           0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
///     G  = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1]
///     Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
enum WinogradF4: WinogradTransform {
  static var m: Int { 4 }
  static var tilesReach: Int { 2 }

  @inline(__always)
  static func input<L: TransformLane>(_ value: (Int) -> L, _ result: (Int, L) -> Void) {
    let d0 = value(0), d1 = value(1), d2 = value(2), d3 = value(3), d4 = value(4), d5 = value(5)
    let p = d4 - 4 * d2, q = d3 - 4 * d1, r = d4 - d2, t = 2 * (d3 - d1)
    result(0, 4 * d0 - 5 * d2 + d4)
    result(1, p + q); result(2, p - q)
    result(3, r + t); result(4, r - t)
    result(5, 4 * d1 - 5 * d3 + d5)
  }

  static func kernel(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>, _ ds: Int) {
    let g0 = s[0], g1 = s[ss], g2 = s[2 * ss]
    let even = g0 + g2, outer = g0 / 24 + g2 / 6
    d[0] = g0 / 4
    d[ds] = -(even + g1) / 6; d[2 * ds] = -(even - g1) / 6
    d[3 * ds] = outer + g1 / 12; d[4 * ds] = outer - g1 / 12
    d[5 * ds] = g2
  }

  @inline(__always)
  static func output<L: TransformLane>(_ value: (Int) -> L, _ result: (Int, L) -> Void) {
    let m0 = value(0), m1 = value(1), m2 = value(2), m3 = value(3), m4 = value(4), m5 = value(5)
    let sum12 = m1 + m2, diff12 = m1 - m2, sum34 = m3 + m4, diff34 = m3 - m4
    result(0, m0 + sum12 + sum34)
    result(1, diff12 + 2 * diff34)
    result(2, sum12 + 4 * sum34)
    result(3, diff12 + 8 * diff34 + m5)
  }

  @inline(__always)
  static func gradient<L: TransformLane>(_ value: (Int) -> L, _ result: (Int, L) -> Void) {
    let y0 = value(0), y1 = value(1), y2 = value(2), y3 = value(3)
    let even = y0 + y2, odd = y1 + y3, even4 = y0 + 4 * y2, odd4 = 2 * y1 + 8 * y3
    result(0, y0)
    result(1, even + odd); result(2, even - odd)
    result(3, even4 + odd4); result(4, even4 - odd4)
    result(5, y3)
  }

  /// Tile k's values 0…5 start at s[4k]: lanes 0, 1, 2, 3 (mod 4) of
  /// s[0 ..< 32], then lanes 0 and 1 of s[4 ..< 36] (read only when
  /// `count` > 4; its last two floats lie past tile 7's six).
  @inline(__always)
  static func tiles8(_ s: UnsafePointer<Float>, count: Int) -> InlineArray<6, SIMD8<Float>> {
    var v = InlineArray<6, SIMD8<Float>>(repeating: SIMD8())
    let a = UnsafeRawPointer(s).loadUnaligned(as: SIMD32<Float>.self)
    v[0] = a.evenHalf.evenHalf; v[1] = a.oddHalf.evenHalf; v[2] = a.evenHalf.oddHalf; v[3] = a.oddHalf.oddHalf
    if count > 4 {
      let b = UnsafeRawPointer(s + 4).loadUnaligned(as: SIMD32<Float>.self)
      v[4] = b.evenHalf.evenHalf; v[5] = b.oddHalf.evenHalf
    }
    return v
  }

  @inline(__always)
  static func storeTiles8(_ pixels: InlineArray<6, SIMD8<Float>>, _ d: UnsafeMutablePointer<Float>) {
    // Pixel p of tile k to lane 4k + p: pixels 0 and 2 interleaved in the
    // even lanes, 1 and 3 in the odd ones.
    var even = SIMD16<Float>(), odd = SIMD16<Float>(), out = SIMD32<Float>()
    even.evenHalf = pixels[0]; even.oddHalf = pixels[2]
    odd.evenHalf = pixels[1]; odd.oddHalf = pixels[3]
    out.evenHalf = even; out.oddHalf = odd
    UnsafeMutableRawPointer(d).storeBytes(of: out, as: SIMD32<Float>.self)
  }
}

/// How many floats of transformed tiles one chunk holds, unless the
/// transformed kernels ask for more (4 MiB: `TileGrid.chunk`).
nonisolated(unsafe) public var winogradChunkBudget = 1 << 20

/// Tiles per chunk, when set: tests set a few to end chunks inside tile
/// rows and images.
nonisolated(unsafe) public var winogradChunkTiles: Int? = nil

/// The `side` × `side` tiles of a batch of `images` images of `height` ×
/// `width` pixels (the last row or column of tiles sticks out of an image
/// whose size is not a multiple), numbered image by image, row by row.
struct TileGrid {
  let images, high, wide: Int

  init(images: Int, height: Int, width: Int, side: Int) {
    self.images = images; high = (height + side - 1) / side; wide = (width + side - 1) / side
  }

  var count: Int { images * high * wide }

  /// Tiles per chunk for `entries` products `[rows × inner]·[inner × tiles]`.
  /// A chunk's transformed tiles (`entries · (rows + inner)` floats each)
  /// should still be in the caches when the products read what the
  /// transforms wrote, so they stay within `winogradChunkBudget` floats;
  /// but every chunk reads all the transformed kernels (`entries · rows ·
  /// inner` floats) again, so a chunk has at least 2·rows·inner/(rows +
  /// inner) tiles, which keeps that rereading within half the tiles' own
  /// traffic. Measured (docs/performance.md): 64 → 64 channels at 256² ran
  /// 1.5× faster in chunks of 4 MiB than of 16 MiB, 512 → 512 at 32² slower
  /// in chunks of fewer than 100 tiles. `winogradChunkTiles` overrides both.
  func chunk(entries: Int, rows: Int, inner: Int) -> Int {
    if let fixed = winogradChunkTiles { return max(1, min(count, fixed)) }
    let reuse = 2 * rows * inner / max(1, rows + inner)
    return max(1, min(count, max(winogradChunkBudget / max(1, entries * (rows + inner)), reuse)))
  }

  /// Calls `body(image, ty, tx0, tx1, k0)` for each run of tiles of one tile
  /// row within tiles `first ..< first + count`: tiles tx0 ..< tx1 of row ty
  /// of `image`, the first of them at `k0` in the chunk.
  @inline(__always)
  func forEachRun(first: Int, count: Int, _ body: (Int, Int, Int, Int, Int) -> Void) {
    var t = first
    while t < first + count {
      let row = t / wide, tx0 = t % wide, tx1 = min(wide, tx0 + first + count - t)
      body(row / high, row % high, tx0, tx1, t - first)
      t += tx1 - tx0
    }
  }
}

/// How far apart the α² streams of a transformed operand lie for `floats`
/// floats each: rounded up to whole cache lines, and to an odd number of
/// them. Streams a power of two apart (64 × 64 channels, 256 tiles) would
/// all fall into the same cache sets, and the transforms, which touch
/// every stream for each tile, would evict their own lines (measured: the
/// F(4×4, 3×3) transforms took twice as long).
func streamStride(_ floats: Int) -> Int {
  let lines = (floats + 15) / 16
  return 16 * (lines | 1)
}

/// `m[ξ] = u[ξ] · v[ξ]` for ξ < `products`, each `[rows × inner]·[inner × count]`
/// (u[ξ] stored `[inner × rows]` when `transposed`), the ξ-th operands
/// `us`, `vs` and `ms` floats after the first; the
/// products spread over the threads; every entry of each m[ξ] is written.
func winogradProducts(_ products: Int, rows: Int, inner: Int, count: Int,
                      _ u: UnsafePointer<Float>, _ us: Int, transposed: Bool = false, _ v: UnsafePointer<Float>, _ vs: Int,
                      _ m: UnsafeMutablePointer<Float>, _ ms: Int) {
  parallelProducts(products) { xi in
    cblas_sgemm(CblasRowMajor, transposed ? CblasTrans : CblasNoTrans, CblasNoTrans, Int32(rows), Int32(count), Int32(inner),
                1, u + xi * us, Int32(transposed ? rows : inner), v + xi * vs, Int32(count), 0, m + xi * ms, Int32(count))
  }
}

/// `du[ξ] = dm[ξ] · v[ξ]ᵀ` (or, `adding`, `du[ξ] +=`) for ξ < `products`,
/// each `[rows × count]·[count × inner]`, strided as in `winogradProducts`:
/// the weight gradient's products.
func winogradWeightProducts(_ products: Int, rows: Int, inner: Int, count: Int,
                            _ dm: UnsafePointer<Float>, _ ms: Int, _ v: UnsafePointer<Float>, _ vs: Int,
                            _ du: UnsafeMutablePointer<Float>, _ us: Int, adding: Bool) {
  parallelProducts(products) { xi in
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(inner), Int32(count),
                1, dm + xi * ms, Int32(count), v + xi * vs, Int32(count), adding ? 1 : 0, du + xi * us, Int32(inner))
  }
}

/// Runs `body(0 ..< count)` over the threads, each product in one
/// single-threaded sgemm call.
func parallelProducts(_ count: Int, _ body: (Int) -> Void) {
  _ = blasSingleThreaded
  parallelFor(count, cost: 1 << 30, body)
}
