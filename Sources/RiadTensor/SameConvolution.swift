import RiadKernels

/// Stride-1 "same" convolutions (k×k, k = 2p + 1, padding p) without im2col.
///
/// The images of a batch are laid out channel by channel in `SamePlanes`, where
/// a k×k convolution becomes a 1-D correlation over one flat index, and the
/// kernels of RiadKernels multiply straight from those planes.
///
/// Backward needs no new kernel for the input gradient: the adjoint of a same
/// convolution is the same convolution of the output gradient with the kernel
/// flipped in space and transposed in channels.

/// One plane per channel holding every image of a batch: rows of
/// `wp = w + p` floats, image i's row y at plane row `p + i·(h + p) + y`
/// with its pixels from column p, zeros everywhere else. One band of p zeros
/// serves as the right padding of a row and the left padding of the next
/// (and likewise between images), so output position
/// `q = (i·(h + p) + y)·wp + x` reads tap (ky, kx) at `q + ky·wp + kx`, and
/// the input pixel (i, y, x) itself sits at `lead + q = q + p·wp + p`.
struct SamePlanes {
  let n, h, w, pad, kernel: Int
  let wp: Int, rowsPerImage: Int, lead: Int
  /// Output positions computed (a multiple of the kernels' position block).
  let positions: Int
  /// Floats from one plane to the next.
  let stride: Int

  init(n: Int, h: Int, w: Int, kernel: Int) {
    self.n = n; self.h = h; self.w = w; self.kernel = kernel
    pad = kernel / 2
    wp = w + pad
    rowsPerImage = h + pad
    lead = pad * wp + pad
    let block = sameConvolutionPositionBlock
    positions = (n * rowsPerImage * wp + block - 1) / block * block
    // The last position reads up to 2·lead further; 16 floats keep planes 64-byte apart.
    stride = (positions + 2 * lead + 15) / 16 * 16
  }

  /// Positions computed per useful output pixel (1 means no waste).
  var waste: Double { Double(n * rowsPerImage * wp) / Double(max(n * h * w, 1)) }

  /// The flat offset of each tap (ky, kx), row-major.
  var offsets: [Int] { (0..<kernel * kernel).map { ($0 / kernel) * wp + $0 % kernel } }

  /// Lays out `src[n][channels][h][w]` into `planes` planes (the first
  /// `channels` hold the images, the rest are zero).
  func scatter(_ src: UnsafePointer<Float>, channels: Int, planes: Int, into dst: UnsafeMutablePointer<Float>) {
    parallelFor(planes, cost: stride) { c in
      let plane = dst + c * stride
      guard c < channels else { plane.update(repeating: 0, count: stride); return }
      fill(src, channels: channels, c, c + 1, from: 0, count: stride, into: plane, dstStride: stride)
    }
  }

  /// Reads output planes (`rowStride` floats apart, position q) into
  /// `dst[n][channels][h][w]`, adding `bias[c]` when given.
  func gather(_ src: UnsafePointer<Float>, rowStride: Int, channels: Int, bias: [Float]?,
              into dst: UnsafeMutablePointer<Float>) {
    parallelFor(channels, cost: n * h * w) { c in
      emit(src + c * rowStride, rowStride: rowStride, channels: channels, c, c + 1,
           start: 0, count: n * rowsPerImage * wp, bias: bias, into: dst)
    }
  }

  /// Writes plane indices `from ..< from + count` of the planes `scatter`
  /// makes of `src[n][channels][h][w]`, for channels `k0 ..< k1` (all when
  /// not given), channel k's at `dst + (k − k0)·dstStride`: every one of
  /// those elements, a pixel or a zero.
  func fill(_ src: UnsafePointer<Float>, channels: Int, _ k0: Int = 0, _ k1: Int? = nil, from: Int, count: Int,
            into dst: UnsafeMutablePointer<Float>, dstStride: Int) {
    let end = from + count
    var row = from / wp
    while row * wp < end {
      // Plane row `row` holds image i's row y when pad ≤ row and y < h.
      let a = max(from, row * wp), b = min(end, (row + 1) * wp)
      let r = row - pad, i = r >= 0 ? r / rowsPerImage : n, y = r >= 0 ? r % rowsPerImage : h
      // Zeros up to the row's first pixel (all of it outside the images), then pixels.
      let zeros = i < n && y < h ? max(0, min(b, row * wp + pad) - a) : b - a
      for k in k0..<(k1 ?? channels) {
        let to = dst + (k - k0) * dstStride + (a - from)
        if zeros > 0 { to.update(repeating: 0, count: zeros) }
        if zeros < b - a {
          let x = a + zeros - row * wp - pad
          (to + zeros).update(from: src + ((i * channels + k) * h + y) * w + x, count: b - a - zeros)
        }
      }
      row += 1
    }
  }

  /// Writes the pixels among output positions `start ..< start + count`
  /// into `dst[n][channels][h][w]`, channels `c0 ..< c1`: channel c0 + j's
  /// position start + q is `src[j·rowStride + q]`; adds `bias[c]` when given.
  func emit(_ src: UnsafePointer<Float>, rowStride: Int, channels: Int, _ c0: Int, _ c1: Int,
            start: Int, count: Int, bias: [Float]?, into dst: UnsafeMutablePointer<Float>) {
    let end = start + count
    var row = start / wp
    while row * wp < end {
      let i = row / rowsPerImage, y = row % rowsPerImage
      // Columns x0 ..< x1 of this row are in the range and are pixels.
      let x0 = max(start, row * wp) - row * wp, x1 = min(end - row * wp, w)
      if i < n, y < h, x1 > x0 {
        for c in c0..<c1 {
          let from = src + (c - c0) * rowStride + row * wp + x0 - start
          let to = dst + ((i * channels + c) * h + y) * w + x0
          if let bias { let b = bias[c]; for x in 0..<(x1 - x0) { to[x] = from[x] + b } }
          else { to.update(from: from, count: x1 - x0) }
        }
      }
      row += 1
    }
  }
}

/// Output channels the plane kernels compute together.
let kernelRows = sameConvolutionChannelBlock

/// Blocks of `kernelRows` output channels for `channels` (the last may be padded).
func rowBlocks(_ channels: Int) -> Int { (channels + kernelRows - 1) / kernelRows }

/// Weights packed for the forward kernel, `[rows/8][inner][taps][8]`: entry
/// (r, i, t) is `value(r, i, t)`, zero for the rows that pad the last block.
/// Written in order, blocks in parallel (block b writes its `blockSize`
/// entries, so all are written): deep layers have 10⁵–10⁶ weights.
@inline(__always)
func packWeights(rows: Int, inner: Int, taps: Int, _ value: (Int, Int, Int) -> Float) -> [Float] {
  let blockSize = inner * taps * kernelRows
  return makeFloats(rowBlocks(rows) * blockSize) { buffer in
    parallelFor(rowBlocks(rows), cost: blockSize) { b in
      var out = buffer.baseAddress! + b * blockSize
      for i in 0..<inner {
        for t in 0..<taps {
          for j in 0..<kernelRows {
            let r = b * kernelRows + j
            out.pointee = r < rows ? value(r, i, t) : 0
            out += 1
          }
        }
      }
    }
  }
}

/// Weights `w[o][c][t]` packed for the forward kernel; `flipped` packs the
/// input-gradient kernel `w'[c][o][t] = w[o][c][T−1−t]` instead (its output
/// channels are w's input channels).
func packWeights(_ w: UnsafePointer<Float>, out o: Int, in c: Int, taps: Int, flipped: Bool) -> [Float] {
  flipped ? packWeights(rows: c, inner: o, taps: taps) { r, i, t in w[(i * c + r) * taps + taps - 1 - t] }
          : packWeights(rows: o, inner: c, taps: taps) { r, i, t in w[(r * c + i) * taps + t] }
}

/// Where `convolvePlanes` reads its input channels.
enum PlaneSource {
  /// Planes laid out beforehand, `layout.stride` floats apart.
  case planes(UnsafePointer<Float>)
  /// Images `[n][channels][h][w]`: each chunk of positions lays out just
  /// the stretch of planes it reads, in a buffer that stays in cache.
  case images(UnsafePointer<Float>)
}

/// Where `convolvePlanes` writes its output channels.
enum PlaneDestination {
  /// Output planes, `layout.positions` floats apart (position q at q).
  case planes(UnsafeMutablePointer<Float>)
  /// Images `[n][channels][h][w]`, plus `bias[c]` when given: each chunk
  /// writes its pixels from a buffer that stays in cache.
  case images(UnsafeMutablePointer<Float>, bias: [Float]?)
}

/// `out[r][q]` for every output channel r < outChannels and position q (a
/// destination in planes may keep rows that pad the last block unwritten):
/// the forward kernel over chunks of positions, spread over the threads.
/// Each chunk runs every output block in turn, so its stretch of the input
/// is read from cache after the first; many input channels go in groups
/// whose weights (8 outputs × taps × group) fit in L1, each adding to the
/// sums so far. From images, or into images, a chunk moves just its own
/// stretch through its thread's buffer, so the planes never exist whole
/// and nothing goes to memory twice.
func convolvePlanes(_ source: PlaneSource, _ layout: SamePlanes, inChannels: Int,
                    offsets: [Int], offsetStride: Int, taps: Int,
                    packed: [Float], outChannels: Int, _ destination: PlaneDestination) {
  let block = sameConvolutionPositionBlock
  let spans = layout.positions / block
  // About 2000 positions a chunk, at least four chunks per thread, and
  // from images a chunk's input (with the 2·lead the last positions read
  // past it) in 128 Ki floats.
  var chunkSpans = max(1, min(42, spans / (4 * workerThreads)))
  let fromImages: Bool, intoImages: Bool
  if case .images = source { fromImages = true } else { fromImages = false }
  if case .images = destination { intoImages = true } else { intoImages = false }
  if fromImages {
    chunkSpans = max(1, min(chunkSpans, ((128 << 10) / inChannels - 2 * layout.lead) / block))
  }
  let chunks = (spans + chunkSpans - 1) / chunkSpans
  let group = max(1, (16 << 10) / (taps * kernelRows * 4))
  // Per thread: a chunk's input planes (each `inStride` floats), then its
  // eight output rows (`chunkSpans · block` floats each).
  let inStride = (chunkSpans * block + 2 * layout.lead + 15) / 16 * 16
  let inFloats = fromImages ? inChannels * inStride : 0
  let outFloats = intoImages ? kernelRows * chunkSpans * block : 0
  let threads = workerThreads

  func run(_ scratch: UnsafeMutablePointer<Float>?) {
    packed.withUnsafeBufferPointer { pw in
      offsets.withUnsafeBufferPointer { po in
        parallelFor(chunks, cost: 1 << 20, workers: threads) { chunk, thread in
          // Invariant: this thread alone uses its part of `scratch`; `fill`
          // writes the input stretch the kernel reads (positions < count +
          // 2·lead), the kernel writes each real row of the output buffer
          // (accumulate only after the first group) before `emit` reads it.
          let local = scratch.map { $0 + thread * (inFloats + outFloats) }
          let q0 = chunk * chunkSpans * block, count = min(spans, (chunk + 1) * chunkSpans) * block - q0
          // Channel 0's plane at position q0, and the distance between planes.
          let src: UnsafePointer<Float>, planeStride: Int
          switch source {
          case .planes(let planes):
            src = planes + q0; planeStride = layout.stride
          case .images(let x):
            layout.fill(x, channels: inChannels, from: q0, count: count + 2 * layout.lead, into: local!, dstStride: inStride)
            src = UnsafePointer(local!); planeStride = inStride
          }
          for b in 0..<rowBlocks(outChannels) {
            let rows = min(kernelRows, outChannels - b * kernelRows)
            let dst: UnsafeMutablePointer<Float>, dstStride: Int
            switch destination {
            case .planes(let out): dst = out + b * kernelRows * layout.positions + q0; dstStride = layout.positions
            case .images: dst = local! + inFloats; dstStride = count
            }
            for c0 in stride(from: 0, to: inChannels, by: group) {
              let weights = pw.baseAddress! + (b * inChannels + c0) * taps * kernelRows
              // Eight rows, or just the real ones where the block has four
              // or fewer (the final layer's three; a filter's one).
              Kernels.sameForward(src: src + c0 * planeStride, planeStride: planeStride, cin: min(group, inChannels - c0),
                                  offsets: po.baseAddress! + c0 * offsetStride, offsetStride: offsetStride, taps: taps,
                                  w: weights, dst: dst, dstStride: dstStride, q0: 0, q1: count, accumulate: c0 > 0,
                                  rows: rows)
            }
            if case .images(let y, let bias) = destination {
              layout.emit(dst, rowStride: dstStride, channels: outChannels, b * kernelRows, b * kernelRows + rows,
                          start: q0, count: count, bias: bias, into: y)
            }
          }
        }
      }
    }
  }
  if inFloats + outFloats > 0 { withScratch(threads * (inFloats + outFloats)) { run($0) } } else { run(nil) }
}

/// `dw[j][k·taps + t] = Σ_q g[j][q] · source_k[q + offsets[first(k) + t]]` for
/// every output channel j (padded to a multiple of 8) and source plane k:
/// the weight gradient as correlations of the planes. `g` holds planes laid
/// out by `SamePlanes.scatter` (pixel at lead + q).
func planeWeightGradient(_ g: UnsafePointer<Float>, _ layout: SamePlanes, out o: Int,
                         sources: UnsafePointer<Float>, count: Int,
                         offsets: [Int], taps: Int, first: (Int) -> Int,
                         into dw: UnsafeMutablePointer<Float>) {
  let rowLength = count * taps
  dw.update(repeating: 0, count: rowBlocks(o) * kernelRows * rowLength)
  // Every (plane, tap) pair as a shifted row.
  var rows: [UnsafePointer<Float>] = []
  rows.reserveCapacity(rowLength)
  for k in 0..<count { for t in 0..<taps { rows.append(sources + k * layout.stride + offsets[first(k) + t]) } }
  // Tiles of positions keep eight gradient rows in cache while the shifted
  // rows pass; work items are (output block, range of pairs), each owning
  // its entries of dw.
  let tile = 4096
  let tiles = (layout.positions + tile - 1) / tile
  let ranges = max(1, min(rowLength / 3, (4 * workerThreads + rowBlocks(o) - 1) / rowBlocks(o)))
  rows.withUnsafeBufferPointer { pr in
    parallelFor(rowBlocks(o) * ranges, cost: 1 << 20) { item in
      let b = item / ranges, r = item % ranges
      // Ranges of whole triples, so only the last one can be short.
      let triples = (rowLength + 2) / 3
      let i0 = min(rowLength, triples * r / ranges * 3), i1 = min(rowLength, triples * (r + 1) / ranges * 3)
      guard i1 > i0 else { return }
      let gyRows = g + b * kernelRows * layout.stride + layout.lead
      for t in 0..<tiles {
        let q0 = t * tile, q1 = min(layout.positions, q0 + tile)
        Kernels.sameWeightGradient(gy: gyRows, gyStride: layout.stride,
                                       sources: pr.baseAddress! + i0, count: i1 - i0,
                                       dw: dw + b * kernelRows * rowLength + i0, dwStride: rowLength,
                                       q0: q0, q1: q1, rows: min(kernelRows, o - b * kernelRows))
      }
    }
  }
}

/// Forward: `y[n][o][h][w] = conv2d(x, w, bias)` for a same convolution,
/// straight from the images into the images.
func sameConvolutionForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?,
                            _ g: ConvGeometry, n: Int, out o: Int, _ y: UnsafeMutablePointer<Float>) {
  let packed = packWeights(w, out: o, in: g.c, taps: g.kh * g.kw, flipped: false)
  let layout = SamePlanes(n: n, h: g.h, w: g.w, kernel: g.kh)
  convolvePlanes(.images(x), layout, inChannels: g.c, offsets: layout.offsets, offsetStride: 0, taps: g.kh * g.kw,
                 packed: packed, outChannels: o, .images(y, bias: bias))
}

/// `gw[j][k][t] += Σ_q gy[j][q] · x-plane_k[q + offsets[t]]`: a same
/// convolution's weight gradient straight from the images `gy[n][o][h][w]`
/// and `x[n][c][h][w]`. Work items are (block of eight output channels,
/// range of positions), each with sums of its own, added up in a fixed
/// order at the end (so the result does not depend on the threads). An item
/// goes tile by tile: it lays out its block's rows of gy for the tile, then
/// the tile's stretch of a few input planes at a time, and correlates them
/// while they are in cache.
func sameWeightGradient(_ gy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ layout: SamePlanes,
                        out o: Int, in c: Int, offsets: [Int], into gw: UnsafeMutablePointer<Float>) {
  let taps = offsets.count, rowLength = c * taps, blocks = rowBlocks(o)
  let tile = 2048
  let tiles = (layout.positions + tile - 1) / tile
  // About sixteen items per thread, claimed one by one: little waiting at the end.
  let ranges = max(1, min(tiles, 16 * workerThreads / blocks))
  let items = blocks * ranges
  // Input planes per group: their tile stretches in about 128 KiB.
  let inStride = (tile + 2 * layout.lead + 15) / 16 * 16
  let group = max(1, min(c, (32 << 10) / inStride))
  // Per thread: gy's eight rows for a tile, then a group's planes. After
  // the threads' buffers: each item's sums.
  let threads = workerThreads
  let threadFloats = kernelRows * tile + group * inStride
  let sumFloats = kernelRows * rowLength
  withScratch(threads * threadFloats + items * sumFloats) { scratch in
    parallelFor(items, cost: 1 << 20, workers: threads) { item, thread in
      // Invariant: the thread alone uses its buffer, and item (b, r) alone
      // its sums, which it zeroes first; `fill` writes gy's rows for the
      // whole tile, then zero rows up to those the kernel reads
      // (`gradientRowsRead`: their sums are never read, but stay finite),
      // and the group's planes up to the tile's end + 2·lead: everything
      // the kernel reads.
      let gyLocal = scratch + thread * threadFloats, planes = gyLocal + kernelRows * tile
      var sources = [UnsafePointer<Float>](repeating: UnsafePointer(planes), count: group * taps)
      let b = item / ranges, r = item % ranges
      let sums = scratch + threads * threadFloats + item * sumFloats
      sums.update(repeating: 0, count: sumFloats)
      let rows = min(kernelRows, o - b * kernelRows), gyRows = RiadKernels.SameConvolution.gradientRowsRead(rows)
      for t in (tiles * r / ranges)..<(tiles * (r + 1) / ranges) {
        let q0 = t * tile, count = min(layout.positions, q0 + tile) - q0
        layout.fill(gy, channels: o, b * kernelRows, b * kernelRows + rows, from: layout.lead + q0, count: count,
                    into: gyLocal, dstStride: tile)
        if rows < gyRows { (gyLocal + rows * tile).update(repeating: 0, count: (gyRows - rows) * tile) }
        for k0 in stride(from: 0, to: c, by: group) {
          let k1 = min(c, k0 + group)
          layout.fill(x, channels: c, k0, k1, from: q0, count: count + 2 * layout.lead, into: planes, dstStride: inStride)
          for k in k0..<k1 { for u in 0..<taps { sources[(k - k0) * taps + u] = UnsafePointer(planes + (k - k0) * inStride + offsets[u]) } }
          sources.withUnsafeBufferPointer { ps in
            Kernels.sameWeightGradient(gy: gyLocal, gyStride: tile, sources: ps.baseAddress!, count: (k1 - k0) * taps,
                                       dw: sums + k0 * taps, dwStride: rowLength, q0: 0, q1: count, rows: rows)
          }
        }
      }
    }
    // gw[j][i] += the items' sums for block j / 8, range by range.
    let sums = scratch + threads * threadFloats
    parallelFor(o, cost: ranges * rowLength) { j in
      let b = j / kernelRows
      for r in 0..<ranges {
        let from = sums + (b * ranges + r) * sumFloats + (j - b * kernelRows) * rowLength
        for i in 0..<rowLength { gw[j * rowLength + i] += from[i] }
      }
    }
  }
}

/// Backward: the input gradient `gx` and/or the weight gradient `gw`
/// (added to, `[o][c][kh][kw]`) from the output gradient `gy[n][o][h][w]`.
func sameConvolutionBackward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                             _ g: ConvGeometry, n: Int, out o: Int,
                             gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
  let taps = g.kh * g.kw, c = g.c
  let layout = SamePlanes(n: n, h: g.h, w: g.w, kernel: g.kh)
  if let gx {
    // gx = same convolution of gy with the flipped, transposed kernel.
    let packed = packWeights(w, out: o, in: c, taps: taps, flipped: true)
    convolvePlanes(.images(gy), layout, inChannels: o, offsets: layout.offsets, offsetStride: 0, taps: taps,
                   packed: packed, outChannels: c, .images(gx, bias: nil))
  }
  guard let gw else { return }
  sameWeightGradient(gy, x, layout, out: o, in: c, offsets: layout.offsets, into: gw)
}
