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
      // Zero the bands between rows, then copy the rows.
      var filled = 0
      for i in 0..<n {
        for y in 0..<h {
          let at = lead + (i * rowsPerImage + y) * wp
          (plane + filled).update(repeating: 0, count: at - filled)
          (plane + at).update(from: src + ((i * channels + c) * h + y) * w, count: w)
          filled = at + w
        }
      }
      (plane + filled).update(repeating: 0, count: stride - filled)
    }
  }

  /// Reads output planes (`rowStride` floats apart, position q) into
  /// `dst[n][channels][h][w]`, adding `bias[c]` when given.
  func gather(_ src: UnsafePointer<Float>, rowStride: Int, channels: Int, bias: [Float]?,
              into dst: UnsafeMutablePointer<Float>) {
    parallelFor(channels, cost: n * h * w) { c in
      let b = bias?[c] ?? 0
      for i in 0..<n {
        for y in 0..<h {
          let from = src + c * rowStride + (i * rowsPerImage + y) * wp
          let to = dst + ((i * channels + c) * h + y) * w
          if bias == nil { to.update(from: from, count: w) } else { for x in 0..<w { to[x] = from[x] + b } }
        }
      }
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

/// `out[r][q]` for every output channel r < outChannels and position (rows
/// padding the last block may be left unwritten): the forward kernel
/// over chunks of positions, spread over the threads. Each chunk runs every
/// output block in turn, so its stretch of the input planes is read from
/// cache after the first; many input channels go in groups whose weights
/// (8 outputs × taps × group) fit in L1, each adding to the sums so far.
func convolvePlanes(_ planes: UnsafePointer<Float>, _ layout: SamePlanes, inChannels: Int,
                    offsets: [Int], offsetStride: Int, taps: Int,
                    packed: [Float], outChannels: Int, _ out: UnsafeMutablePointer<Float>) {
  let block = sameConvolutionPositionBlock
  let spans = layout.positions / block
  // About 2000 positions a chunk, and at least four chunks per thread.
  let chunkSpans = max(1, min(42, spans / (4 * workerThreads)))
  let chunks = (spans + chunkSpans - 1) / chunkSpans
  let group = max(1, (16 << 10) / (taps * kernelRows * 4))
  packed.withUnsafeBufferPointer { pw in
    offsets.withUnsafeBufferPointer { po in
      parallelFor(chunks, cost: 1 << 20) { chunk in
        let q0 = chunk * chunkSpans * block, q1 = min(spans, (chunk + 1) * chunkSpans) * block
        for b in 0..<rowBlocks(outChannels) {
          let rows = min(kernelRows, outChannels - b * kernelRows)
          for c0 in stride(from: 0, to: inChannels, by: group) {
            let count = min(group, inChannels - c0)
            let src = planes + c0 * layout.stride, taps0 = po.baseAddress! + c0 * offsetStride
            let weights = pw.baseAddress! + (b * inChannels + c0) * taps * kernelRows
            // Eight rows, or just the real ones where the block has four or
            // fewer (the final layer's three; a filter's one).
            Kernels.sameForward(src: src, planeStride: layout.stride, cin: count,
                                offsets: taps0, offsetStride: offsetStride, taps: taps, w: weights,
                                dst: out + b * kernelRows * layout.positions, dstStride: layout.positions,
                                q0: q0, q1: q1, accumulate: c0 > 0, rows: rows)
          }
        }
      }
    }
  }
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

/// Forward: `y[n][o][h][w] = conv2d(x, w, bias)` for a same convolution.
func sameConvolutionForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?,
                            _ g: ConvGeometry, n: Int, out o: Int, _ y: UnsafeMutablePointer<Float>) {
  let pad = g.kh / 2, image = (g.h + pad) * (g.w + pad)
  let taps = g.kh * g.kw
  let packed = packWeights(w, out: o, in: g.c, taps: taps, flipped: false)
  forEachImageChunk(n, floatsPerImage: (g.c + rowBlocks(o) * kernelRows) * image) { first, nb in
    let layout = SamePlanes(n: nb, h: g.h, w: g.w, kernel: g.kh)
    withScratch(g.c * layout.stride + rowBlocks(o) * kernelRows * layout.positions) { scratch in
      let planes = scratch, out = scratch + g.c * layout.stride
      layout.scatter(x + first * g.c * g.h * g.w, channels: g.c, planes: g.c, into: planes)
      convolvePlanes(planes, layout, inChannels: g.c, offsets: layout.offsets, offsetStride: 0, taps: taps,
                     packed: packed, outChannels: o, out)
      layout.gather(out, rowStride: layout.positions, channels: o, bias: bias, into: y + first * o * g.h * g.w)
    }
  }
}

/// Backward: the input gradient `gx` and/or the weight gradient `gw`
/// (added to, `[o][c][kh][kw]`) from the output gradient `gy[n][o][h][w]`.
func sameConvolutionBackward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                             _ g: ConvGeometry, n: Int, out o: Int,
                             gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
  let taps = g.kh * g.kw, c = g.c, pad = g.kh / 2, image = (g.h + pad) * (g.w + pad)
  let outRows = rowBlocks(o) * kernelRows, inRows = rowBlocks(c) * kernelRows
  // gx = same convolution of gy with the flipped, transposed kernel.
  let packed = gx == nil ? [] : packWeights(w, out: o, in: c, taps: taps, flipped: true)
  forEachImageChunk(n, floatsPerImage: (outRows + c + inRows) * image) { first, nb in
    let layout = SamePlanes(n: nb, h: g.h, w: g.w, kernel: g.kh)
    let offsets = layout.offsets
    withScratch(outRows * layout.stride + c * layout.stride + inRows * layout.positions + outRows * c * taps) { scratch in
      let gyPlanes = scratch, xPlanes = gyPlanes + outRows * layout.stride
      let gxOut = xPlanes + c * layout.stride, gwPadded = gxOut + inRows * layout.positions
      layout.scatter(gy + first * o * g.h * g.w, channels: o, planes: outRows, into: gyPlanes)
      if let gx {
        convolvePlanes(gyPlanes, layout, inChannels: o, offsets: offsets, offsetStride: 0, taps: taps,
                       packed: packed, outChannels: c, gxOut)
        layout.gather(gxOut, rowStride: layout.positions, channels: c, bias: nil, into: gx + first * c * g.h * g.w)
      }
      guard let gw else { return }
      layout.scatter(x + first * c * g.h * g.w, channels: c, planes: c, into: xPlanes)
      planeWeightGradient(gyPlanes, layout, out: o, sources: xPlanes, count: c, offsets: offsets, taps: taps,
                          first: { _ in 0 }, into: gwPadded)
      for i in 0..<(o * c * taps) { gw[i] += gwPadded[i] }
    }
  }
}
