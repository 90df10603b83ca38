import RiadKernels

/// 4×4 stride-2 convolutions (padding 1) and their transposes on small
/// grids with many channels (the U-Net's 16² → 8² and 8² → 4² levels and
/// the transposed convolutions back up), through the position-major
/// kernels of PositionConvolution.swift. At these sizes the phase planes
/// would spend most positions on zero bands, and im2col's copies cost as
/// much as the products.
///
/// The fine grid `[n][c][h][w]` is laid out as `PositionRows` (pad 1); the
/// output pixel (oy, ox) reads the 16 rows around fine pixel (2oy, 2ox) at
/// displacements −1…+2, all inside the zero bands. The adjoint (the input
/// gradient, and the transposed convolution's forward) works phase by
/// phase: fine pixels of parity (ry, rx) receive from four taps, at
/// displacements −1, 0, +1 on the coarse grid, laid out the same way.
/// Weight gradients are sums of outer products over the coarse pixels.
struct StridedPositionBackend: TransposedConvolutionBackend {
  let g: ConvGeometry
  let n: Int, o: Int
  var name: String { "positions" }

  static let kernel = 4, taps = 16

  /// The geometry it runs: 4×4, stride 2, padding 1, even sides, channels
  /// in whole blocks of the kernels' 64.
  init?(_ g: ConvGeometry, n: Int, out o: Int) {
    let block = positionConvolutionChannelBlock
    guard g.kh == 4, g.kw == 4, g.stride == 2, g.pad == 1, g.h % 2 == 0, g.w % 2 == 0,
          g.ho == g.h / 2, g.wo == g.w / 2, g.c % block == 0, o % block == 0 else { return nil }
    self.g = g; self.n = n; self.o = o
  }

  var fineSize: Int { g.h * g.w }
  var coarseSize: Int { g.ho * g.wo }

  /// Where the automatic policy takes these kernels first: coarse grids of
  /// at most 16² pixels per image, with 128 · 128 coarse pixels × output
  /// channels in the batch or more (see `stridedBackend`).
  var smallGrid: Bool { coarseSize <= 256 && n * coarseSize * o >= 128 * 128 }

  /// Every coarse pixel (i, a, b) of `nb` images as a row index of `rows`'
  /// layout: fine pixel (2a, 2b) when `rows` is the fine grid, else (a, b);
  /// padded with copies of the last to the kernels' block of six.
  func positions(_ rows: SamePlanes, fine: Bool, images nb: Int) -> [Int] {
    let step = fine ? 2 : 1
    var list: [Int] = []
    list.reserveCapacity(nb * coarseSize + positionConvolutionPositionBlock)
    for i in 0..<nb {
      for a in 0..<g.ho {
        for b in 0..<g.wo { list.append(rows.lead + (i * rows.rowsPerImage + step * a) * rows.wp + step * b) }
      }
    }
    while list.count % positionConvolutionPositionBlock != 0 { list.append(list.last!) }
    return list
  }

  /// Taps (ky, kx) of the forward window as row offsets in the fine layout.
  func forwardOffsets(_ fine: SamePlanes) -> [Int] {
    (0..<Self.taps).map { t in (t / 4 - 1) * fine.wp + (t % 4 - 1) }
  }

  /// The four taps that reach fine pixels of parity (ry, rx), with their
  /// displacements on the coarse grid: ky ≡ ry + 1 (mod 2), dy = (ry + 1 − ky)/2.
  func phaseTaps(_ ry: Int, _ rx: Int) -> [(tap: Int, dy: Int, dx: Int)] {
    var list: [(tap: Int, dy: Int, dx: Int)] = []
    for ky in 0..<4 where (ry + 1 - ky) % 2 == 0 {
      for kx in 0..<4 where (rx + 1 - kx) % 2 == 0 {
        list.append((ky * 4 + kx, (ry + 1 - ky) / 2, (rx + 1 - kx) / 2))
      }
    }
    return list
  }

  /// The strided convolution: `fine [n][c][h][w]` → `coarse [n][o][h/2][w/2]`
  /// (+ bias). Every coarse element is written by `gatherRows`.
  func convolve(_ fine: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, into coarse: UnsafeMutablePointer<Float>) {
    let c = g.c, taps = Self.taps
    let packed = packRows(w, rows: o, inner: c, rowStride: c * taps, innerStride: taps, taps: Array(0..<taps))
    forEachImageChunk(n, floatsPerImage: c * (g.h + 1) * (g.w + 1) + o * coarseSize) { first, nb in
      let layout = SamePlanes(n: nb, h: g.h, w: g.w, kernel: 3)
      let rows = PositionRows(planes: layout, channels: c), list = positions(layout, fine: true, images: nb)
      withScratch(rows.floats + list.count * o) { scratch in
        let out = scratch + rows.floats
        rows.scatter(fine + first * c * fineSize, into: scratch)
        convolveRows(scratch, cin: c, offsets: forwardOffsets(layout), positions: list, packed: packed,
                     outChannels: o, out, stride: o)
        gatherRows(out, stride: o, SamePlanes(n: nb, h: g.ho, w: g.wo, kernel: 3), channels: o, bias: bias,
                   into: coarse + first * o * coarseSize)
      }
    }
  }

  /// The adjoint: `coarse [n][o][h/2][w/2]` → `fine [n][c][h][w]` (+ bias),
  /// four phases of four taps. Every fine element belongs to one phase and
  /// is written by that phase's scatter.
  func adjoint(_ coarse: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, into fine: UnsafeMutablePointer<Float>) {
    let c = g.c, taps = Self.taps
    let phases = (0..<4).map { phaseTaps($0 / 2, $0 % 2) }
    let packed = phases.map { list in
      packRows(w, rows: c, inner: o, rowStride: taps, innerStride: c * taps, taps: list.map(\.tap))
    }
    forEachImageChunk(n, floatsPerImage: o * (g.ho + 1) * (g.wo + 1) + c * coarseSize) { first, nb in
      let layout = SamePlanes(n: nb, h: g.ho, w: g.wo, kernel: 3)
      let rows = PositionRows(planes: layout, channels: o), list = positions(layout, fine: false, images: nb)
      withScratch(rows.floats + list.count * c) { scratch in
        let out = scratch + rows.floats
        rows.scatter(coarse + first * o * coarseSize, into: scratch)
        for (phase, reaching) in phases.enumerated() {
          let (ry, rx) = (phase / 2, phase % 2)
          convolveRows(scratch, cin: o, offsets: reaching.map { $0.dy * layout.wp + $0.dx }, positions: list,
                       packed: packed[phase], outChannels: c, out, stride: c)
          // out[p][ch] for coarse pixel p = (i·ho + a)·wo + b → fine (i, ch, 2a + ry, 2b + rx).
          let dst = fine + first * c * fineSize
          parallelFor(nb * c, cost: coarseSize) { item in
            let i = item / c, ch = item % c, add = bias?[ch] ?? 0
            let to = dst + item * fineSize, from = out + i * coarseSize * c + ch
            for a in 0..<g.ho {
              for b in 0..<g.wo { to[(2 * a + ry) * g.w + 2 * b + rx] = from[(a * g.wo + b) * c] + add }
            }
          }
        }
      }
    }
  }

  /// `gw[o][c][4][4] += Σ coarse[i][o][a][b] · fine[i][c][2a − 1 + ky][2b − 1 + kx]`:
  /// the weight gradient of the convolution (coarse is its output gradient)
  /// and of the transposed one (coarse is its input, fine its output gradient).
  func weightGradient(fine: UnsafePointer<Float>, coarse: UnsafePointer<Float>, into gw: UnsafeMutablePointer<Float>) {
    let c = g.c
    forEachImageChunk(n, floatsPerImage: c * (g.h + 1) * (g.w + 1) + o * coarseSize) { first, nb in
      let layout = SamePlanes(n: nb, h: g.h, w: g.w, kernel: 3)
      let rows = PositionRows(planes: layout, channels: c), list = positions(layout, fine: true, images: nb)
      let pixels = nb * coarseSize
      withScratch(rows.blockedFloats + pixels * o) { scratch in
        let xr = scratch, gyCompact = xr + rows.blockedFloats
        rows.scatterBlocks(fine + first * c * fineSize, into: xr)
        compactRows(coarse + first * o * coarseSize, images: nb, channels: o, plane: coarseSize, into: gyCompact)
        addPositionWeightGradient(xr, blockRows: rows.blockRows, cin: c, offsets: forwardOffsets(layout), positions: list, count: pixels,
                                  gy: gyCompact, out: o, into: gw)
      }
    }
  }

  func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
    convolve(x, w, bias: bias, into: y)
  }

  func backward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
    if let gx { adjoint(gy, w, bias: nil, into: gx) }
    if let gw { weightGradient(fine: x, coarse: gy, into: gw) }
  }

  func transposedForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
    adjoint(x, w, bias: bias, into: y)
  }

  func transposedBackward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                          gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
    if let gx { convolve(gy, w, bias: nil, into: gx) }
    if let gw { weightGradient(fine: gy, coarse: x, into: gw) }
  }
}
