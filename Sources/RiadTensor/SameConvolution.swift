import RiadKernels

/// Stride-1 "same" convolutions (k×k, k = 2p + 1, padding p) without im2col.
///
/// The images of a batch are laid out channel by channel in `SamePlanes`, where
/// a k×k convolution becomes a 1-D correlation over one flat index, and the
/// AVX-512 kernels of RiadKernels multiply straight from those planes. The
/// U-Net's 3×3 layers at 16² and above go this way when the processor allows;
/// everything else takes the im2col + sgemm path of Convolution.swift.
///
/// Backward needs no new kernel for the input gradient: the adjoint of a same
/// convolution is the same convolution of the output gradient with the kernel
/// flipped in space and transposed in channels.

/// How `conv2d` and `conv_transpose2d` choose among their implementations.
public enum ConvolutionPolicy: Sendable {
  /// The measured best: plane kernels for images of 16² and larger,
  /// position-major kernels for smaller images with many channels, im2col
  /// + sgemm for the rest.
  case automatic
  /// Always im2col + sgemm.
  case im2col
  /// The plane kernels (same and strided) wherever the geometry allows.
  case planes
  /// The position-major kernels wherever the geometry and channel counts
  /// allow, the plane kernels elsewhere.
  case positions
}

/// The policy in force; tests switch it to compare the paths.
nonisolated(unsafe) public var convolutionPolicy = ConvolutionPolicy.automatic

/// Whether this build and processor can run the convolution kernels.
public var convolutionKernelsAvailable: Bool { SameConvolution.isSupported }

/// The implementation one convolution takes.
enum ConvolutionPath {
  case im2col, planes, positions
  case phases(PhaseConvolution)
}

/// Chooses the implementation for a convolution of geometry `g` over `n`
/// images into `o` channels (for a transposed convolution, `g` is the
/// convolution it is the adjoint of, and only `.phases` applies).
func convolutionPath(_ g: ConvGeometry, n: Int, out o: Int) -> ConvolutionPath {
  guard convolutionPolicy != .im2col, SameConvolution.isSupported, g.kh == g.kw else { return .im2col }
  if g.stride == 1, g.kh % 2 == 1, g.pad == g.kh / 2 {
    // Small images spend most positions on the planes' zero bands.
    let small = SamePlanes(n: n, h: g.h, w: g.w, kernel: g.kh).waste > 1.2
    let wide = o % positionConvolutionChannelBlock == 0 && g.c % positionConvolutionChannelBlock == 0
    switch convolutionPolicy {
    case .planes: return .planes
    case .positions: return wide ? .positions : .planes
    default: return !small ? .planes : wide ? .positions : .im2col
    }
  }
  if let phase = PhaseConvolution(n: n, h: g.h, w: g.w, kernel: g.kh, stride: g.stride, pad: g.pad),
     convolutionPolicy != .automatic || phase.planes.waste <= 1.2 {
    return .phases(phase)
  }
  return .im2col
}

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

private let channelBlock = sameConvolutionChannelBlock

func blocks(_ channels: Int) -> Int { (channels + channelBlock - 1) / channelBlock }

/// Weights packed for the forward kernel, `[rows/8][inner][taps][8]`: entry
/// (r, i, t) is `value(r, i, t)`, zero for the rows that pad the last block.
/// Written in order, blocks in parallel: deep layers have 10⁵–10⁶ weights.
@inline(__always)
private func packWeights(rows: Int, inner: Int, taps: Int, _ value: (Int, Int, Int) -> Float) -> [Float] {
  let blockSize = inner * taps * channelBlock
  return makeFloats(blocks(rows) * blockSize) { buffer in
    parallelFor(blocks(rows), cost: blockSize) { b in
      var out = buffer.baseAddress! + b * blockSize
      for i in 0..<inner {
        for t in 0..<taps {
          for j in 0..<channelBlock {
            let r = b * channelBlock + j
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
private func packWeights(_ w: UnsafePointer<Float>, out o: Int, in c: Int, taps: Int, flipped: Bool) -> [Float] {
  flipped ? packWeights(rows: c, inner: o, taps: taps) { r, i, t in w[(i * c + r) * taps + taps - 1 - t] }
          : packWeights(rows: o, inner: c, taps: taps) { r, i, t in w[(r * c + i) * taps + t] }
}

/// `out[r][q]` for every output channel block and position: the forward
/// kernel over all blocks × position ranges, spread over the threads.
private func convolvePlanes(_ planes: UnsafePointer<Float>, _ layout: SamePlanes, inChannels: Int,
                            offsets: [Int], offsetStride: Int, taps: Int,
                            packed: [Float], outChannels: Int, _ out: UnsafeMutablePointer<Float>) {
  let block = sameConvolutionPositionBlock
  let spans = layout.positions / block
  let outBlocks = blocks(outChannels)
  let ranges = max(1, min(spans, (4 * workerThreads + outBlocks - 1) / outBlocks))
  packed.withUnsafeBufferPointer { pw in
    offsets.withUnsafeBufferPointer { po in
      parallelFor(outBlocks * ranges, cost: 1 << 20) { item in
        let b = item / ranges, r = item % ranges
        let q0 = spans * r / ranges * block, q1 = spans * (r + 1) / ranges * block
        let weights = pw.baseAddress! + b * inChannels * taps * channelBlock
        let rows = min(channelBlock, outChannels - b * channelBlock)
        if rows <= channelBlock / 2 {
          // A block of four or fewer real channels: row by row, no zero rows.
          for j in 0..<rows {
            SameConvolution.forwardRow(src: planes, planeStride: layout.stride, cin: inChannels,
                                       offsets: po.baseAddress!, offsetStride: offsetStride, taps: taps,
                                       w: weights + j, wStride: channelBlock,
                                       dst: out + (b * channelBlock + j) * layout.positions, q0: q0, q1: q1)
          }
        } else {
          SameConvolution.forward(src: planes, planeStride: layout.stride, cin: inChannels,
                                  offsets: po.baseAddress!, offsetStride: offsetStride, taps: taps, w: weights,
                                  dst: out + b * channelBlock * layout.positions, dstStride: layout.positions,
                                  q0: q0, q1: q1)
        }
      }
    }
  }
}

/// `dw[j][k·taps + t] = Σ_q g[j][q] · source_k[q + offsets[first(k) + t]]` for
/// every output channel j (padded to a multiple of 8) and source plane k:
/// the weight gradient as correlations of the planes. `g` holds planes laid
/// out by `SamePlanes.scatter` (pixel at lead + q).
private func planeWeightGradient(_ g: UnsafePointer<Float>, _ layout: SamePlanes, out o: Int,
                                 sources: UnsafePointer<Float>, count: Int,
                                 offsets: [Int], taps: Int, first: (Int) -> Int,
                                 into dw: UnsafeMutablePointer<Float>) {
  let rowLength = count * taps
  dw.update(repeating: 0, count: blocks(o) * channelBlock * rowLength)
  // Every (plane, tap) pair as a shifted row.
  var rows: [UnsafePointer<Float>] = []
  rows.reserveCapacity(rowLength)
  for k in 0..<count { for t in 0..<taps { rows.append(sources + k * layout.stride + offsets[first(k) + t]) } }
  // Tiles of positions keep eight gradient rows in cache while the shifted
  // rows pass; work items are (output block, range of pairs), each owning
  // its entries of dw.
  let tile = 4096
  let tiles = (layout.positions + tile - 1) / tile
  let ranges = max(1, min(rowLength / 3, (4 * workerThreads + blocks(o) - 1) / blocks(o)))
  rows.withUnsafeBufferPointer { pr in
    parallelFor(blocks(o) * ranges, cost: 1 << 20) { item in
      let b = item / ranges, r = item % ranges
      // Ranges of whole triples, so only the last one can be short.
      let triples = (rowLength + 2) / 3
      let i0 = min(rowLength, triples * r / ranges * 3), i1 = min(rowLength, triples * (r + 1) / ranges * 3)
      guard i1 > i0 else { return }
      let gyRows = g + b * channelBlock * layout.stride + layout.lead
      for t in 0..<tiles {
        let q0 = t * tile, q1 = min(layout.positions, q0 + tile)
        SameConvolution.weightGradient(gy: gyRows, gyStride: layout.stride,
                                       sources: pr.baseAddress! + i0, count: i1 - i0,
                                       dw: dw + b * channelBlock * rowLength + i0, dwStride: rowLength,
                                       q0: q0, q1: q1)
      }
    }
  }
}

/// How many floats of planes one call lays out at most (64 MiB), unless a
/// single image needs more; tests lower it to split small batches.
nonisolated(unsafe) public var convolutionPlaneBudget = 16 << 20

/// Calls `body(first, count)` over groups of images small enough that their
/// planes (`floatsPerImage` each) fit `convolutionPlaneBudget`: a batch of
/// large images does not lay out all at once.
func forEachImageChunk(_ n: Int, floatsPerImage: Int, _ body: (Int, Int) -> Void) {
  let chunk = max(1, min(n, convolutionPlaneBudget / max(1, floatsPerImage)))
  for first in stride(from: 0, to: n, by: chunk) { body(first, min(chunk, n - first)) }
}

/// Forward: `y[n][o][h][w] = conv2d(x, w, bias)` for a same convolution.
func sameConvolutionForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?,
                            _ g: ConvGeometry, n: Int, out o: Int, _ y: UnsafeMutablePointer<Float>) {
  let pad = g.kh / 2, image = (g.h + pad) * (g.w + pad)
  let taps = g.kh * g.kw
  let packed = packWeights(w, out: o, in: g.c, taps: taps, flipped: false)
  forEachImageChunk(n, floatsPerImage: (g.c + blocks(o) * channelBlock) * image) { first, nb in
    let layout = SamePlanes(n: nb, h: g.h, w: g.w, kernel: g.kh)
    withScratch(g.c * layout.stride + blocks(o) * channelBlock * layout.positions) { scratch in
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
  let outRows = blocks(o) * channelBlock, inRows = blocks(c) * channelBlock
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

// MARK: - Strided convolutions by phases

/// A stride-s convolution whose kernel side k is a multiple of s, split into
/// the s² *phase images* of its input (pixels (s·y + r, s·x + c) for each
/// phase (r, c)): each phase meets a (k/s)×(k/s) part of the kernel at
/// offsets of −1, 0 or +1 on the coarse grid, so the strided convolution is a
/// sum of stride-1 correlations over `SamePlanes` of the coarse grid (band 1),
/// and the same kernels run it. The U-Net's 4×4 stride-2 downsampling convs
/// and its transposed upsampling convs (their adjoints) go this way.
struct PhaseConvolution {
  /// Planes of the coarse grid, h/s × w/s.
  let planes: SamePlanes
  let stride, kernel, pad: Int
  /// Taps per phase, (k/s)².
  let taps: Int
  /// For phase φ = r·s + c: each tap's kernel index ky·k + kx and its
  /// offset in a plane (lead plus the coarse displacement).
  let kernelIndex: [[Int]], offsets: [[Int]]

  /// nil unless the geometry decomposes: the coarse output equals the phase
  /// images in size and every displacement is −1, 0 or +1.
  init?(n: Int, h: Int, w: Int, kernel k: Int, stride s: Int, pad p: Int) {
    guard s >= 2, k % s == 0, h % s == 0, w % s == 0,
          (h + 2 * p - k) / s + 1 == h / s, (w + 2 * p - k) / s + 1 == w / s,
          (h + 2 * p - k) % s == 0 else { return nil }
    planes = SamePlanes(n: n, h: h / s, w: w / s, kernel: 3)
    stride = s; kernel = k; pad = p; taps = (k / s) * (k / s)
    var index = [[Int]](repeating: [], count: s * s), offs = [[Int]](repeating: [], count: s * s)
    for ky in 0..<k {
      for kx in 0..<k {
        let r = ((ky - p) % s + s) % s, c = ((kx - p) % s + s) % s
        let dy = (ky - p - r) / s, dx = (kx - p - c) / s
        guard abs(dy) <= 1, abs(dx) <= 1 else { return nil }
        index[r * s + c].append(ky * k + kx)
        offs[r * s + c].append(planes.lead + dy * planes.wp + dx)
      }
    }
    kernelIndex = index; offsets = offs
  }

  var phases: Int { stride * stride }

  /// Calls `body(first, count, phase)` over groups of images whose planes
  /// (`planesPerImage` coarse planes each) stay under about 64 MiB, with the
  /// decomposition laid out for each group.
  func forEachImageChunk(planesPerImage: Int, _ body: (Int, Int, PhaseConvolution) -> Void) {
    let image = planes.rowsPerImage * planes.wp
    RiadTensor.forEachImageChunk(planes.n, floatsPerImage: planesPerImage * image) { first, nb in
      let part = nb == planes.n ? self
        : PhaseConvolution(n: nb, h: planes.h * stride, w: planes.w * stride, kernel: kernel, stride: stride, pad: pad)!
      body(first, nb, part)
    }
  }

  /// Lays out `src[n][channels][h][w]` (the fine grid) as `channels·s²`
  /// phase planes, channel-major: plane c·s² + φ.
  func scatterPhases(_ src: UnsafePointer<Float>, channels: Int, into dst: UnsafeMutablePointer<Float>) {
    let g = planes, s = stride, fineW = g.w * s, fineSize = g.h * s * fineW
    parallelFor(channels * phases, cost: g.stride) { plane in
      let c = plane / phases, r = (plane % phases) / s, col = plane % s
      let out = dst + plane * g.stride
      out.update(repeating: 0, count: g.stride)
      for i in 0..<g.n {
        for y in 0..<g.h {
          let from = src + (i * channels + c) * fineSize + (y * s + r) * fineW + col
          let to = out + g.lead + (i * g.rowsPerImage + y) * g.wp
          for x in 0..<g.w { to[x] = from[x * s] }
        }
      }
    }
  }

  /// Writes output rows of phase φ (position q of the coarse grid, rows
  /// `rowStride` apart) into the fine grid `dst[n][channels][h][w]`, adding bias.
  func gatherPhase(_ phase: Int, _ src: UnsafePointer<Float>, rowStride: Int, channels: Int,
                   bias: [Float]?, into dst: UnsafeMutablePointer<Float>) {
    let g = planes, s = stride, fineW = g.w * s, fineSize = g.h * s * fineW
    let r = phase / s, col = phase % s
    parallelFor(channels, cost: g.n * g.h * g.w) { c in
      let b = bias?[c] ?? 0
      for i in 0..<g.n {
        for y in 0..<g.h {
          let from = src + c * rowStride + (i * g.rowsPerImage + y) * g.wp
          let to = dst + (i * channels + c) * fineSize + (y * s + r) * fineW + col
          for x in 0..<g.w { to[x * s] = from[x] + b }
        }
      }
    }
  }

  /// The strided convolution `out[o][q] = Σ w[o][c][ky][kx] · x[c][s·y + ky − p][s·x + kx − p]`
  /// on the coarse grid, from the phase planes of x.
  func forward(_ xPhases: UnsafePointer<Float>, channels c: Int, _ w: UnsafePointer<Float>, out o: Int,
               _ dst: UnsafeMutablePointer<Float>) {
    // Packed [o/8][c·s² + φ][t][8], each phase plane with its own taps.
    let phases = self.phases, k2 = kernel * kernel, index = kernelIndex.flatMap { $0 }, taps = self.taps
    let packed = packWeights(rows: o, inner: c * phases, taps: taps) { oc, plane, t in
      w[(oc * c + plane / phases) * k2 + index[plane % phases * taps + t]]
    }
    let table = (0..<c).flatMap { _ in offsets.joined() }
    convolvePlanes(xPhases, planes, inChannels: c * phases, offsets: table, offsetStride: taps, taps: taps,
                   packed: packed, outChannels: o, dst)
  }

  /// The adjoint of `forward`: from coarse planes `g` (o channels, laid out
  /// by `planes.scatter`) to the fine grid `dst[n][c][h][w]`, adding bias.
  func adjoint(_ g: UnsafePointer<Float>, out o: Int, _ w: UnsafePointer<Float>, channels c: Int,
               bias: [Float]?, into dst: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
    for f in 0..<phases {
      // Packed [c/8][o][t][8]; each tap reads g at minus its displacement.
      let k2 = kernel * kernel, index = kernelIndex[f]
      let packed = packWeights(rows: c, inner: o, taps: taps) { ch, oc, t in w[(oc * c + ch) * k2 + index[t]] }
      let mirrored = offsets[f].map { 2 * planes.lead - $0 }
      convolvePlanes(g, planes, inChannels: o, offsets: mirrored, offsetStride: 0, taps: taps,
                     packed: packed, outChannels: c, scratch)
      gatherPhase(f, scratch, rowStride: planes.positions, channels: c, bias: bias, into: dst)
    }
  }

  /// `gw[o][c][ky][kx] += Σ_q g[o][q] · x-phase[c, φ][q + offset]`, from
  /// coarse planes `g` (o channels padded to 8, `planes.scatter` layout) and
  /// the phase planes of x. `scratch` holds `blocks(o)·8 · c·s²·taps` floats.
  func weightGradient(_ g: UnsafePointer<Float>, out o: Int, _ xPhases: UnsafePointer<Float>, channels c: Int,
                      _ gw: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
    let rowLength = c * phases * taps, phases = self.phases, taps = self.taps
    planeWeightGradient(g, planes, out: o, sources: xPhases, count: c * phases, offsets: offsets.flatMap { $0 },
                        taps: taps, first: { $0 % phases * taps }, into: scratch)
    for oc in 0..<o { for ch in 0..<c { for f in 0..<phases { for t in 0..<taps {
      gw[(oc * c + ch) * kernel * kernel + kernelIndex[f][t]] += scratch[oc * rowLength + (ch * phases + f) * taps + t]
    } } } }
  }
}

// MARK: - Entry points for Convolution.swift

extension PhaseConvolution {
  var fineSize: Int { planes.h * stride * planes.w * stride }
  var coarseSize: Int { planes.h * planes.w }

  /// conv2d forward: x `[n][c][h][w]` (fine grid) to y `[n][o][h/s][w/s]`.
  func conv2dForward(_ x: UnsafePointer<Float>, channels c: Int, _ w: UnsafePointer<Float>, out o: Int,
                     bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
    forEachImageChunk(planesPerImage: c * phases + blocks(o) * channelBlock) { first, _, part in
      let planes = part.planes
      withScratch(c * phases * planes.stride + blocks(o) * channelBlock * planes.positions) { scratch in
        let xPhases = scratch, out = scratch + c * phases * planes.stride
        part.scatterPhases(x + first * c * fineSize, channels: c, into: xPhases)
        part.forward(xPhases, channels: c, w, out: o, out)
        planes.gather(out, rowStride: planes.positions, channels: o, bias: bias, into: y + first * o * coarseSize)
      }
    }
  }

  /// conv2d backward from gy `[n][o][h/s][w/s]`: gx (written) and gw (added to).
  func conv2dBackward(_ x: UnsafePointer<Float>, channels c: Int, _ w: UnsafePointer<Float>, out o: Int,
                      _ gy: UnsafePointer<Float>, gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
    let outRows = blocks(o) * channelBlock
    forEachImageChunk(planesPerImage: outRows + c * phases + blocks(c) * channelBlock) { first, _, part in
      let planes = part.planes
      let work = max(gx == nil ? 0 : blocks(c) * channelBlock * planes.positions,
                     gw == nil ? 0 : c * phases * planes.stride + outRows * c * phases * taps)
      withScratch(outRows * planes.stride + work) { scratch in
        let gyPlanes = scratch, rest = scratch + outRows * planes.stride
        planes.scatter(gy + first * o * coarseSize, channels: o, planes: outRows, into: gyPlanes)
        if let gx {
          part.adjoint(gyPlanes, out: o, w, channels: c, bias: nil, into: gx + first * c * fineSize, scratch: rest)
        }
        if let gw {
          let xPhases = rest
          part.scatterPhases(x + first * c * fineSize, channels: c, into: xPhases)
          part.weightGradient(gyPlanes, out: o, xPhases, channels: c, gw, scratch: rest + c * phases * planes.stride)
        }
      }
    }
  }

  /// conv_transpose2d forward: x `[n][ci][h/s][w/s]` to y `[n][co][h][w]`;
  /// w `[ci][co][k][k]` is the weight of the strided convolution co → ci.
  func transposedForward(_ x: UnsafePointer<Float>, channels ci: Int, _ w: UnsafePointer<Float>, out co: Int,
                         bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
    let inRows = blocks(ci) * channelBlock
    forEachImageChunk(planesPerImage: inRows + blocks(co) * channelBlock) { first, _, part in
      let planes = part.planes
      withScratch(inRows * planes.stride + blocks(co) * channelBlock * planes.positions) { scratch in
        planes.scatter(x + first * ci * coarseSize, channels: ci, planes: inRows, into: scratch)
        part.adjoint(scratch, out: ci, w, channels: co, bias: bias, into: y + first * co * fineSize,
                     scratch: scratch + inRows * planes.stride)
      }
    }
  }

  /// conv_transpose2d backward from gy `[n][co][h][w]`: gx (written) and gw (added to).
  func transposedBackward(_ x: UnsafePointer<Float>, channels ci: Int, _ w: UnsafePointer<Float>, out co: Int,
                          _ gy: UnsafePointer<Float>, gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
    let inRows = blocks(ci) * channelBlock
    forEachImageChunk(planesPerImage: co * phases + inRows) { first, _, part in
      let planes = part.planes
      let work = max(gx == nil ? 0 : inRows * planes.positions,
                     gw == nil ? 0 : inRows * planes.stride + inRows * co * phases * taps)
      withScratch(co * phases * planes.stride + work) { scratch in
        let gyPhases = scratch, rest = scratch + co * phases * planes.stride
        part.scatterPhases(gy + first * co * fineSize, channels: co, into: gyPhases)
        if let gx {
          part.forward(gyPhases, channels: co, w, out: ci, rest)
          planes.gather(rest, rowStride: planes.positions, channels: ci, bias: nil, into: gx + first * ci * coarseSize)
        }
        if let gw {
          let xPlanes = rest
          planes.scatter(x + first * ci * coarseSize, channels: ci, planes: inRows, into: xPlanes)
          part.weightGradient(xPlanes, out: ci, gyPhases, channels: co, gw, scratch: rest + inRows * planes.stride)
        }
      }
    }
  }
}
