import CBLAS

/// Same 3×3 convolutions by Winograd's minimal filtering F(2×2, 3×3)
/// (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
/// CVPR 2016).
///
/// The output is cut into 2×2 tiles; tile t reads the 4×4 input patch d_t
/// that starts one pixel above and left of it. With the transforms
///
///     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
///     G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
///     Aᵀ = [1 1 1 0; 0 1 −1 −1]
///
/// a tile of output channel o is `Aᵀ [Σ_c U[o][c] ⊙ V_t[c]] A` with
/// `U = G g Gᵀ` (the 3×3 kernel g of (o, c) as a 4×4 matrix) and
/// `V_t = Bᵀ d_t B`. For each of the 16 entries ξ of those 4×4 matrices the
/// sum over channels is one matrix product, `M[ξ] = U[ξ] · V[ξ]`
/// (`[O×C]·[C×tiles]`), so the whole layer is 16 sgemm calls between cheap
/// transforms: 16 multiplies per 4 outputs and input channel where the
/// direct convolution needs 36, at the price of one extra pass over memory
/// each way. It needs none of riad's kernels, so it serves every processor.
///
/// Backward: the input gradient is the same algorithm on the output
/// gradient with the kernel flipped in space and transposed in channels.
/// The weight gradient is the adjoint of the forward product: with
/// `dM_t = A dy_t Aᵀ` (each 2×2 output-gradient tile as a 4×4 matrix),
/// `dU[ξ] = Σ_t dM_t[ξ] · V_t[ξ]ᵀ` (16 more products) and `dg = Gᵀ dU G`.
///
/// Rounding: the transforms add at most four terms with weights ±1 or ±½,
/// so the results differ from the direct sum by a few units in the last
/// place of its largest terms (tests hold them to im2col within 1e-5 of the
/// output's scale).
struct WinogradBackend: ConvolutionBackend {
  let g: ConvGeometry
  let n: Int, o: Int
  var name: String { "winograd" }

  init?(_ g: ConvGeometry, n: Int, out o: Int) {
    guard g.kh == 3, g.kw == 3, g.stride == 1, g.pad == 1 else { return nil }
    self.g = g; self.n = n; self.o = o
  }

  /// Where the automatic policy takes it: 64 channels or more in and out
  /// (fewer make the 16 products too thin for sgemm, and the transforms,
  /// which cost the same per channel, outweigh the multiplies saved), at
  /// least 128 tiles in the batch, and for 64 → 64 channels only images
  /// up to 32² (larger ones lose in backward, whose 64 × 64 weight-gradient
  /// products are thin). Measured on the U-Net's layers
  /// (docs/performance.md "What Winograd gives"): 10–80 % over riad's
  /// kernels there, and slower with 16–32 channels or a batch of 4² images.
  var pays: Bool {
    min(g.c, o) >= 64 && tiles.count >= 128 && (g.c + o >= 192 || g.h * g.w <= 32 * 32)
  }

  /// 2×2 tiles of the output (the same size as the input).
  var tiles: TileGrid { TileGrid(images: n, height: g.h, width: g.w) }

  func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
    let u = transformedKernels(w, out: o, in: g.c, flipped: false)
    convolve(x, channels: g.c, u, out: o, bias: bias, y)
  }

  func backward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
    if let gx {
      let u = transformedKernels(w, out: o, in: g.c, flipped: true)
      convolve(gy, channels: o, u, out: g.c, bias: nil, gx)
    }
    if let gw { weightGradient(x, gy, gw) }
  }

  /// `dst[n][cout][h][w] = Aᵀ[Σ_c U ⊙ V]A` (+ bias) from `src[n][cin][h][w]`
  /// and kernels `u[16][cout][cin]`.
  func convolve(_ src: UnsafePointer<Float>, channels cin: Int, _ u: [Float], out cout: Int, bias: [Float]?,
                _ dst: UnsafeMutablePointer<Float>) {
    let tiles = tiles, chunk = tiles.chunk(floatsPerTile: 16 * (cin + cout))
    // V and M are written whole for each chunk (by the input transform and
    // by sgemm with beta 0) before they are read; every output pixel lies in
    // exactly one tile, and every tile in one chunk, so dst is written whole.
    withScratch(16 * (cin + cout) * chunk) { scratch in
      let v = scratch, m = scratch + 16 * cin * chunk
      u.withUnsafeBufferPointer { pu in
        for t0 in stride(from: 0, to: tiles.count, by: chunk) {
          let count = min(chunk, tiles.count - t0)
          transformInput(src, channels: cin, first: t0, count: count, into: v)
          winogradProducts(16, rows: cout, inner: cin, count: count, pu.baseAddress!, v, m)
          transformOutput(m, channels: cout, first: t0, count: count, bias: bias, into: dst)
        }
      }
    }
  }

  /// `gw[o][c] += Gᵀ (Σ_t dM_t ⊙ V_t) G` over every tile.
  func weightGradient(_ x: UnsafePointer<Float>, _ gy: UnsafePointer<Float>, _ gw: UnsafeMutablePointer<Float>) {
    let c = g.c, tiles = tiles, chunk = tiles.chunk(floatsPerTile: 16 * (c + o))
    // dU is written by the first chunk's products (beta 0) and added to by
    // the rest; V and dM are written whole per chunk before they are read.
    withScratch(16 * o * c + 16 * (c + o) * chunk) { scratch in
      let du = scratch, v = du + 16 * o * c, dm = v + 16 * c * chunk
      for t0 in stride(from: 0, to: tiles.count, by: chunk) {
        let count = min(chunk, tiles.count - t0)
        transformInput(x, channels: c, first: t0, count: count, into: v)
        transformGradient(gy, channels: o, first: t0, count: count, into: dm)
        winogradWeightProducts(16, rows: o, inner: c, count: count, dm, v, du, adding: t0 > 0)
      }
      // gw[o][c][3×3] += Gᵀ dU G.
      let pairs = o * c
      parallelFor(o, cost: 64 * c) { oc in
        for ch in 0..<c {
          let pair = oc * c + ch
          var d = InlineArray<16, Float>(repeating: 0)
          for xi in 0..<16 { d[xi] = du[xi * pairs + pair] }
          // Gᵀ D: three rows of four.
          var r = InlineArray<12, Float>(repeating: 0)
          for b in 0..<4 {
            let half = 0.5 * (d[4 + b] + d[8 + b]), diff = 0.5 * (d[4 + b] - d[8 + b])
            r[b] = d[b] + half; r[4 + b] = diff; r[8 + b] = half + d[12 + b]
          }
          let out = gw + pair * 9
          for a in 0..<3 {
            let p = r[4 * a], q = r[4 * a + 1], s = r[4 * a + 2], t = r[4 * a + 3]
            out[3 * a] += p + 0.5 * (q + s)
            out[3 * a + 1] += 0.5 * (q - s)
            out[3 * a + 2] += 0.5 * (q + s) + t
          }
        }
      }
    }
  }

  /// `u[ξ][r][i] = (G k Gᵀ)[ξ]` for every output row r and inner channel i,
  /// with k the 3×3 kernel `w[r][i]`, or (`flipped`) `w[i][r]` turned by
  /// 180°: the input gradient's kernel. Every entry is written.
  func transformedKernels(_ w: UnsafePointer<Float>, out o: Int, in c: Int, flipped: Bool) -> [Float] {
    let rows = flipped ? c : o, inner = flipped ? o : c, pairs = rows * inner
    return makeFloats(16 * pairs) { buffer in
      let u = buffer.baseAddress!
      parallelFor(rows, cost: 64 * inner) { r in
        for i in 0..<inner {
          let k = flipped ? w + (i * c + r) * 9 : w + (r * c + i) * 9
          var kk = InlineArray<9, Float>(repeating: 0)
          for t in 0..<9 { kk[t] = flipped ? k[8 - t] : k[t] }
          // G k: four rows of three.
          var gk = InlineArray<12, Float>(repeating: 0)
          for j in 0..<3 {
            let a = kk[j], b = kk[3 + j], e = kk[6 + j]
            gk[j] = a; gk[3 + j] = 0.5 * (a + b + e); gk[6 + j] = 0.5 * (a - b + e); gk[9 + j] = e
          }
          let pair = r * inner + i
          for a in 0..<4 {
            let p = gk[3 * a], q = gk[3 * a + 1], s = gk[3 * a + 2]
            u[(4 * a) * pairs + pair] = p
            u[(4 * a + 1) * pairs + pair] = 0.5 * (p + q + s)
            u[(4 * a + 2) * pairs + pair] = 0.5 * (p - q + s)
            u[(4 * a + 3) * pairs + pair] = s
          }
        }
      }
    }
  }

  /// `v[ξ][c][t − first] = (Bᵀ d_t B)[ξ]` for tiles `first ..< first + count`
  /// of `src[n][channels][h][w]` (zeros outside the image). Every entry of
  /// the chunk's `16 · channels · count` floats is written: each run of
  /// tiles writes its `tx1 − tx0` entries of all 16 streams.
  func transformInput(_ src: UnsafePointer<Float>, channels: Int, first: Int, count: Int,
                      into v: UnsafeMutablePointer<Float>) {
    let h = g.h, w = g.w, plane = channels * count, width = 2 * tiles.wide + 4
    parallelFor(channels, cost: 40 * count) { c in
      // Four patch rows, copied with their zero padding, turned into the
      // rows of Bᵀ d in place; every column the run reads is written.
      withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * width) { buffer in
        let e = buffer.baseAddress!
        tiles.forEachRun(first: first, count: count) { image, ty, tx0, tx1, k0 in
          let base = src + (image * channels + c) * h * w
          let x0 = 2 * tx0 - 1, columns = 2 * (tx1 - tx0) + 2
          for r in 0..<4 {
            let y = 2 * ty - 1 + r, row = e + r * width
            guard y >= 0 && y < h else { row.update(repeating: 0, count: columns); continue }
            let line = base + y * w
            let lo = max(0, -x0), hi = min(columns, w - x0)
            if lo > 0 { row.update(repeating: 0, count: lo) }
            if hi > lo { (row + lo).update(from: line + x0 + lo, count: hi - lo) }
            if hi < columns { (row + max(hi, lo)).update(repeating: 0, count: columns - max(hi, lo)) }
          }
          let d0 = e, d1 = e + width, d2 = e + 2 * width, d3 = e + 3 * width
          for x in 0..<columns {
            let a = d0[x], b = d1[x], p = d2[x], q = d3[x]
            d0[x] = a - p; d1[x] = b + p; d2[x] = p - b; d3[x] = b - q
          }
          let run = tx1 - tx0
          for a in 0..<4 {
            let row = e + a * width
            let out0 = v + (4 * a) * plane + c * count + k0, out1 = out0 + plane, out2 = out1 + plane, out3 = out2 + plane
            for k in 0..<run {
              let p = row[2 * k], q = row[2 * k + 1], s = row[2 * k + 2], z = row[2 * k + 3]
              out0[k] = p - s; out1[k] = q + s; out2[k] = s - q; out3[k] = q - z
            }
          }
        }
      }
    }
  }

  /// `dm[ξ][o][t − first] = (A dy_t Aᵀ)[ξ]` for tiles `first ..< first + count`
  /// of the output gradient `gy[n][channels][h][w]` (pixels past the image's
  /// edge count as zero). Every entry of the chunk is written, run by run.
  func transformGradient(_ gy: UnsafePointer<Float>, channels: Int, first: Int, count: Int,
                         into dm: UnsafeMutablePointer<Float>) {
    let h = g.h, w = g.w, plane = channels * count, width = 2 * tiles.wide
    parallelFor(channels, cost: 40 * count) { c in
      // The tile row's two gradient rows, zero past the image.
      withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * width) { buffer in
        let top = buffer.baseAddress!, bottom = top + width
        tiles.forEachRun(first: first, count: count) { image, ty, tx0, tx1, k0 in
          let base = gy + (image * channels + c) * h * w
          let x0 = 2 * tx0, columns = 2 * (tx1 - tx0), inside = min(columns, w - x0)
          for r in 0..<2 {
            let y = 2 * ty + r, row = r == 0 ? top : bottom
            guard y < h else { row.update(repeating: 0, count: columns); continue }
            row.update(from: base + y * w + x0, count: inside)
            if inside < columns { (row + inside).update(repeating: 0, count: columns - inside) }
          }
          let out = dm + c * count + k0
          for k in 0..<(tx1 - tx0) {
            let a = top[2 * k], b = top[2 * k + 1], p = bottom[2 * k], q = bottom[2 * k + 1]
            // A dy: rows (a, b), (a+p, b+q), (a−p, b−q), (−p, −q); each row (r, s) times Aᵀ: r, r+s, r−s, −s.
            let rows: InlineArray<8, Float> = [a, b, a + p, b + q, a - p, b - q, -p, -q]
            for i in 0..<4 {
              let r = rows[2 * i], s = rows[2 * i + 1], at = out + 4 * i * plane + k
              at[0] = r; at[plane] = r + s; at[2 * plane] = r - s; at[3 * plane] = -s
            }
          }
        }
      }
    }
  }

  /// `dst` pixels of tiles `first ..< first + count` from `m[ξ][o][t − first]`:
  /// `Aᵀ M A` (+ bias), each tile's pixels inside the image.
  func transformOutput(_ m: UnsafePointer<Float>, channels: Int, first: Int, count: Int, bias: [Float]?,
                       into dst: UnsafeMutablePointer<Float>) {
    let h = g.h, w = g.w, plane = channels * count, width = tiles.wide
    parallelFor(channels, cost: 40 * count) { c in
      let b = bias?[c] ?? 0
      // Aᵀ M for a run: rows s[i][j], eight rows of `width`.
      withUnsafeTemporaryAllocation(of: Float.self, capacity: 8 * width) { buffer in
        let s = buffer.baseAddress!
        tiles.forEachRun(first: first, count: count) { image, ty, tx0, tx1, k0 in
          let run = tx1 - tx0, at = m + c * count + k0
          for j in 0..<4 {
            let m0 = at + j * plane, m1 = at + (4 + j) * plane, m2 = at + (8 + j) * plane, m3 = at + (12 + j) * plane
            let s0 = s + j * width, s1 = s + (4 + j) * width
            for k in 0..<run { s0[k] = m0[k] + m1[k] + m2[k]; s1[k] = m1[k] - m2[k] - m3[k] }
          }
          let base = dst + (image * channels + c) * h * w
          for i in 0..<2 where 2 * ty + i < h {
            let line = base + (2 * ty + i) * w + 2 * tx0
            let r0 = s + 4 * i * width, r1 = r0 + width, r2 = r1 + width, r3 = r2 + width
            // Whole tiles, then the last column of an odd width.
            let whole = min(run, (w - 2 * tx0) / 2)
            for k in 0..<whole {
              line[2 * k] = r0[k] + r1[k] + r2[k] + b
              line[2 * k + 1] = r1[k] - r2[k] - r3[k] + b
            }
            if whole < run { line[2 * whole] = r0[whole] + r1[whole] + r2[whole] + b }
          }
        }
      }
    }
  }
}

/// How many floats of transformed tiles one chunk holds at most (16 MiB);
/// tests lower it to split tile rows between chunks.
nonisolated(unsafe) public var winogradChunkBudget = 4 << 20

/// The 2×2 tiles of a batch of `images` images of `height` × `width`
/// pixels (the last row or column of tiles sticks out of an odd image),
/// numbered image by image, row by row.
struct TileGrid {
  let images, high, wide: Int

  init(images: Int, height: Int, width: Int) {
    self.images = images; high = (height + 1) / 2; wide = (width + 1) / 2
  }

  var count: Int { images * high * wide }

  /// Tiles per chunk: a chunk's transformed tiles (`floatsPerTile` each)
  /// stay within `winogradChunkBudget` floats, unless one tile needs more.
  func chunk(floatsPerTile: Int) -> Int {
    max(1, min(count, winogradChunkBudget / max(1, floatsPerTile)))
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

/// `m[ξ] = u[ξ] · v[ξ]` for ξ < `products`, each `[rows × inner]·[inner × count]`,
/// the products spread over the threads; every entry of m is written.
func winogradProducts(_ products: Int, rows: Int, inner: Int, count: Int,
                      _ u: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>) {
  parallelProducts(products) { xi in
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(count), Int32(inner),
                1, u + xi * rows * inner, Int32(inner), v + xi * inner * count, Int32(count),
                0, m + xi * rows * count, Int32(count))
  }
}

/// `du[ξ] = dm[ξ] · v[ξ]ᵀ` (or, `adding`, `du[ξ] +=`) for ξ < `products`,
/// each `[rows × count]·[count × inner]`: the weight gradient's products.
func winogradWeightProducts(_ products: Int, rows: Int, inner: Int, count: Int,
                            _ dm: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                            _ du: UnsafeMutablePointer<Float>, adding: Bool) {
  parallelProducts(products) { xi in
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(inner), Int32(count),
                1, dm + xi * rows * count, Int32(count), v + xi * inner * count, Int32(count),
                adding ? 1 : 0, du + xi * rows * inner, Int32(inner))
  }
}

/// Runs `body(0 ..< count)` over the threads, each product in one
/// single-threaded sgemm call.
private func parallelProducts(_ count: Int, _ body: (Int) -> Void) {
  _ = blasSingleThreaded
  parallelFor(count, cost: 1 << 30, body)
}
