import RiadKernels

/// Same convolutions of small images with many channels (the U-Net's levels
/// of 16² and 8² at batch 8), through RiadKernels' position-major kernels.
///
/// At 8×8, `SamePlanes` would compute 81 positions for 64 pixels. Here the
/// batch is laid out *position-major* in the same banded geometry (every
/// channel of one position side by side), only real output positions are
/// listed and computed, and the vector lanes run over output channels. The
/// weight gradient needs no horizontal sums either: it is a sum over
/// positions of outer products (channels × channels).

private let positionBlock = positionConvolutionPositionBlock
private let outBlock = positionConvolutionChannelBlock

/// A batch in position-major form: row `lead + q` of `channels` floats holds
/// pixel q of `SamePlanes` geometry, zero rows elsewhere.
struct PositionRows {
  let planes: SamePlanes
  let channels: Int

  /// Rows of the banded layout: every position plus the reach of the taps.
  var blockRows: Int { planes.positions + 2 * planes.lead + 1 }
  /// Floats of `scatter`'s rows: `blockRows` of `channels` floats.
  var floats: Int { blockRows * channels }
  /// Floats of the six-channel blocks of `scatterBlocks`.
  var blockedFloats: Int { (channels + positionBlock - 1) / positionBlock * positionBlock * blockRows }

  /// `src[n][channels][h][w]` into rows (zeros between): channel c of row r
  /// at `dst[r·channels + c]`. Every one of the `floats` is written.
  func scatter(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
    dst.update(repeating: 0, count: floats)
    forEachPixel(src) { r, from, plane in
      let row = dst + r * channels
      for c in 0..<channels { row[c] = from[c * plane] }
    }
  }

  /// `src[n][channels][h][w]` into blocks of six channels, for the weight
  /// gradient's kernel: channel c of row r at `dst[(c/6 · blockRows + r)·6 + c%6]`,
  /// zeros elsewhere (the channels past `channels` too; every one of the
  /// `blockedFloats` is written). The kernel reads a block's rows 24 bytes
  /// apart instead of `4 · channels` (2 KiB for 512 channels: rows that
  /// evicted each other from the cache).
  func scatterBlocks(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
    let stride = blockRows * positionBlock
    dst.update(repeating: 0, count: blockedFloats)
    forEachPixel(src) { r, from, plane in
      let row = dst + r * positionBlock
      for c in 0..<channels { row[c / positionBlock * stride + c % positionBlock] = from[c * plane] }
    }
  }

  /// `body(r, from, plane)` for every pixel of `src[n][channels][h][w]`: its
  /// row r in the banded layout, and its channel 0 in src (channels `plane`
  /// floats apart). Images go to the threads; each pixel has its own row.
  private func forEachPixel(_ src: UnsafePointer<Float>, _ body: (Int, UnsafePointer<Float>, Int) -> Void) {
    let g = planes, plane = g.h * g.w
    parallelFor(g.n, cost: channels * plane) { i in
      for y in 0..<g.h {
        for x in 0..<g.w {
          body(g.lead + (i * g.rowsPerImage + y) * g.wp + x, src + i * channels * plane + y * g.w + x, plane)
        }
      }
    }
  }
}

extension SamePlanes {
  /// The output position q of every pixel in order (i, y, x), padded with
  /// copies of the last to a multiple of the kernel's six.
  var pixelPositions: [Int] {
    var list: [Int] = []
    list.reserveCapacity(n * h * w + positionBlock)
    for i in 0..<n { for y in 0..<h { for x in 0..<w { list.append((i * rowsPerImage + y) * wp + x) } } }
    while list.count % positionBlock != 0 { list.append(list.last!) }
    return list
  }
}

/// `out[p][r]` (rows `stride` floats apart) for every listed position and
/// every output channel, from rows of `cin` channels, spread over the threads.
func convolveRows(_ rows: UnsafePointer<Float>, cin: Int, offsets: [Int], positions: [Int],
                          packed: [Float], outChannels: Int, _ out: UnsafeMutablePointer<Float>, stride: Int) {
  let blocks = outChannels / outBlock, spans = positions.count / positionBlock, taps = offsets.count
  // About eight items per thread: with four, a few hundred positions split
  // into items of two and three blocks kept one thread waiting for the
  // other at the end of every call.
  let ranges = max(1, min(spans, (8 * workerThreads + blocks - 1) / blocks))
  packed.withUnsafeBufferPointer { pw in
    offsets.withUnsafeBufferPointer { po in
      positions.withUnsafeBufferPointer { pp in
        parallelFor(blocks * ranges, cost: 1 << 20) { item in
          let b = item / ranges, r = item % ranges
          let p0 = spans * r / ranges * positionBlock, p1 = spans * (r + 1) / ranges * positionBlock
          Kernels.positionForward(src: rows, cin: cin, offsets: po.baseAddress!, taps: taps,
                                      positions: pp.baseAddress! + p0, count: p1 - p0,
                                      w: pw.baseAddress! + b * taps * cin * outBlock,
                                      dst: out + p0 * stride + b * outBlock, dstStride: stride)
        }
      }
    }
  }
}

/// Weights packed `[r/64][t][i][64]` for the position-major kernels, entry
/// (r, i, t) = `w[r·rowStride + i·innerStride + taps[t]]`. Block b writes
/// each of its `taps.count · inner · 64` entries once (every (t, i, r) of
/// the block is visited by exactly one branch's loops), so all are written.
func packRows(_ w: UnsafePointer<Float>, rows: Int, inner: Int, rowStride: Int, innerStride: Int, taps: [Int]) -> [Float] {
  let blockSize = taps.count * inner * outBlock
  return makeFloats(rows / outBlock * blockSize) { buffer in
    taps.withUnsafeBufferPointer { taps in
      parallelFor(rows / outBlock, cost: blockSize) { b in
        let out = buffer.baseAddress! + b * blockSize, block = w + b * outBlock * rowStride
        if innerStride < rowStride {
          // Each row's (i, t) entries lie together, rows a long stride
          // apart (often a power of two: one cache set). Tiles of 16 rows ×
          // 16 inner indices are copied row by row into `tile`, then
          // written out tap by tap, 16 rows (one cache line) at a time.
          // The taps of inner index i lie within its first `span` floats.
          let span = taps.max()! + 1
          precondition(span <= innerStride, "packRows: taps reach past an inner index's entries")
          withUnsafeTemporaryAllocation(of: Float.self, capacity: 16 * 16 * span) { buffer in
            // Entries (jj, ii < count, t < span) are copied in before the
            // taps' loop reads exactly those.
            let tile = buffer.baseAddress!
            for j0 in stride(from: 0, to: outBlock, by: 16) {
              for i0 in stride(from: 0, to: inner, by: 16) {
                let count = min(16, inner - i0)
                for jj in 0..<16 {
                  for ii in 0..<count {
                    let from = block + (j0 + jj) * rowStride + (i0 + ii) * innerStride, to = tile + (jj * 16 + ii) * span
                    for t in 0..<span { to[t] = from[t] }
                  }
                }
                for (k, t) in taps.enumerated() {
                  for ii in 0..<count {
                    let to = out + (k * inner + i0 + ii) * outBlock + j0, from = tile + ii * span + t
                    for jj in 0..<16 { to[jj] = from[jj * 16 * span] }
                  }
                }
              }
            }
          }
        } else {
          // Rows lie together (a transposed weight): the 64 rows of one
          // inner index (`64 · rowStride` floats in a run) serve every tap.
          for i in 0..<inner {
            for (k, t) in taps.enumerated() {
              let from = block + i * innerStride + t, to = out + (k * inner + i) * outBlock
              for j in 0..<outBlock { to[j] = from[j * rowStride] }
            }
          }
        }
      }
    }
  }
}

/// Compact position-major results `src[p][c]` (p = (i·h + y)·w + x) into
/// `dst[n][channels][h][w]`, adding bias.
func gatherRows(_ src: UnsafePointer<Float>, stride: Int, _ g: SamePlanes, channels: Int,
                        bias: [Float]?, into dst: UnsafeMutablePointer<Float>) {
  let plane = g.h * g.w
  parallelFor(g.n * channels, cost: plane) { item in
    let i = item / channels, c = item % channels, b = bias?[c] ?? 0
    let to = dst + item * plane, from = src + i * plane * stride + c
    for k in 0..<plane { to[k] = from[k * stride] + b }
  }
}

/// Forward: `y[n][o][h][w] = conv2d(x, w, bias)` for a same convolution.
func positionConvolutionForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?,
                                _ g: ConvGeometry, n: Int, out o: Int, _ y: UnsafeMutablePointer<Float>) {
  let c = g.c, taps = g.kh * g.kw
  let packed = packRows(w, rows: o, inner: c, rowStride: c * taps, innerStride: taps, taps: Array(0..<taps))
  let pad = g.kh / 2
  forEachImageChunk(n, floatsPerImage: (c + o) * (g.h + pad) * (g.w + pad)) { first, nb in
    let planes = SamePlanes(n: nb, h: g.h, w: g.w, kernel: g.kh)
    let rows = PositionRows(planes: planes, channels: c), positions = planes.pixelPositions
    withScratch(rows.floats + positions.count * o) { scratch in
      let out = scratch + rows.floats
      rows.scatter(x + first * c * g.h * g.w, into: scratch)
      convolveRows(scratch, cin: c, offsets: planes.offsets, positions: positions, packed: packed,
                   outChannels: o, out, stride: o)
      gatherRows(out, stride: o, planes, channels: o, bias: bias, into: y + first * o * g.h * g.w)
    }
  }
}

/// Backward: the input gradient `gx` (written) and/or the weight gradient
/// `gw` (added to) from the output gradient `gy[n][o][h][w]`.
func positionConvolutionBackward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                                 _ g: ConvGeometry, n: Int, out o: Int,
                                 gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
  let c = g.c, taps = g.kh * g.kw, pad = g.kh / 2
  // gx = same convolution of gy with the flipped, transposed kernel.
  let flipped = gx == nil ? [] : packRows(w, rows: c, inner: o, rowStride: taps, innerStride: c * taps,
                                          taps: (0..<taps).reversed())
  forEachImageChunk(n, floatsPerImage: (2 * c + 2 * o) * (g.h + pad) * (g.w + pad)) { first, nb in
    let planes = SamePlanes(n: nb, h: g.h, w: g.w, kernel: g.kh)
    let gyRows = PositionRows(planes: planes, channels: o), xRows = PositionRows(planes: planes, channels: c)
    let positions = planes.pixelPositions, pixels = nb * g.h * g.w, offsets = planes.offsets
    let work = max(gx == nil ? 0 : positions.count * c,
                   gw == nil ? 0 : xRows.blockedFloats + pixels * o)
    withScratch(gyRows.floats + work) { scratch in
      let rest = scratch + gyRows.floats
      if let gx {
        gyRows.scatter(gy + first * o * g.h * g.w, into: scratch)
        convolveRows(scratch, cin: o, offsets: offsets, positions: positions, packed: flipped,
                     outChannels: c, rest, stride: c)
        gatherRows(rest, stride: c, planes, channels: c, bias: nil, into: gx + first * c * g.h * g.w)
      }
      guard let gw else { return }
      // gy position-major and compact, in blocks of 64 channels (`compactRows`).
      let xr = rest, gyCompact = xr + xRows.blockedFloats
      xRows.scatterBlocks(x + first * c * g.h * g.w, into: xr)
      compactRows(gy + first * o * g.h * g.w, images: nb, channels: o, plane: g.h * g.w, into: gyCompact)
      addPositionWeightGradient(xr, blockRows: xRows.blockRows, cin: c, offsets: offsets, positions: positions, count: pixels,
                                gy: gyCompact, out: o, into: gw)
    }
  }
}

/// `src[nb][channels][plane]` position-major and compact, in blocks of 64
/// channels: row p = i·plane + k of block b (`nb·plane` rows of 64 floats)
/// holds channels 64b ..< 64b + 64 of pixel k of image i. `channels` is a
/// multiple of 64; every element of the blocks is written. The weight
/// gradient reads a block's rows one after another: rows of all the
/// channels (2 KiB apart for 512) kept its kernel waiting on the cache.
func compactRows(_ src: UnsafePointer<Float>, images nb: Int, channels: Int, plane: Int, into dst: UnsafeMutablePointer<Float>) {
  let rows = nb * plane
  parallelFor(nb, cost: channels * plane) { i in
    for ch in 0..<channels {
      let from = src + (i * channels + ch) * plane
      let to = dst + ((ch / outBlock) * rows + i * plane) * outBlock + ch % outBlock
      for k in 0..<plane { to[k * outBlock] = from[k] }
    }
  }
}

/// `gw[(oc·c + ic)·taps + t] += Σ_p x[ic][positions[p] + offsets[t]] · gy[oc][p]`
/// over the `count` listed positions, with x in six-channel blocks of
/// `blockRows` rows (`PositionRows.scatterBlocks`) and gy in blocks of 64
/// channels (`compactRows`): the weight gradient of a position-major
/// convolution.
///
/// One item per block of six input channels × 64 output channels: its
/// thread runs the kernel for every tap into a buffer of its own,
/// `sums[t][i][j]` (`taps · 384` floats, 24 KiB for 16 taps, in the level-1
/// cache), then adds it into gw, where each (output, input) channel pair
/// holds its taps together: one run of `taps` floats per pair. Items write
/// disjoint pairs of gw, so no two threads write the same float, and every
/// sum goes into gw once. (A buffer for all the taps of every block, laid
/// out `[taps][c][o]` and folded afterwards, was 17 MB at 512 → 512
/// channels: zeroing it, the kernels' additions into it and the fold each
/// streamed it through memory.)
func addPositionWeightGradient(_ rows: UnsafePointer<Float>, blockRows: Int, cin c: Int, offsets: [Int], positions: [Int], count: Int,
                               gy: UnsafePointer<Float>, out o: Int, into gw: UnsafeMutablePointer<Float>) {
  let taps = offsets.count, block = positionBlock * outBlock
  let cBlocks = (c + positionBlock - 1) / positionBlock, oBlocks = o / outBlock
  offsets.withUnsafeBufferPointer { po in
    positions.withUnsafeBufferPointer { pp in
      parallelFor(cBlocks * oBlocks, cost: taps * count * block) { item in
        let cb = item / oBlocks, ob = item % oBlocks, c0 = cb * positionBlock, o0 = ob * outBlock
        withUnsafeTemporaryAllocation(of: Float.self, capacity: taps * block) { buffer in
          // Zeroed whole, then added to by the kernel (its six rows of 64
          // for each tap), then read whole.
          let sums = buffer.baseAddress!
          sums.initialize(repeating: 0, count: taps * block)
          for t in 0..<taps {
            Kernels.positionWeightGradient(src: rows + cb * blockRows * positionBlock, cin: positionBlock, c0: 0, offset: po[t],
                                           positions: pp.baseAddress!, count: count,
                                           gy: gy + ob * count * outBlock, gyStride: outBlock,
                                           dw: sums + t * block, dwStride: outBlock)
          }
          // The block's channels past c (zeros) are dropped.
          for i in 0..<min(positionBlock, c - c0) {
            for j in 0..<outBlock {
              let to = gw + ((o0 + j) * c + c0 + i) * taps, from = sums + i * outBlock + j
              for t in 0..<taps { to[t] += from[t * block] }
            }
          }
        }
      }
    }
  }
}
