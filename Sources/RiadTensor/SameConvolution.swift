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

/// How `conv2d` computes stride-1 same convolutions.
public enum SameConvolutionPolicy: Sendable {
  /// The kernels where they win (images of 16² and larger), im2col elsewhere.
  case automatic
  /// Always im2col + sgemm.
  case never
  /// The kernels for every same convolution, however small (for tests).
  case always
}

/// The policy in force; tests switch it to compare both paths.
nonisolated(unsafe) public var sameConvolutionPolicy = SameConvolutionPolicy.automatic

/// Whether this build and processor can run the same-convolution kernels.
public var sameConvolutionKernelsAvailable: Bool { SameConvolution.isSupported }

/// One plane per channel holding every image of a batch: rows of
/// `wp = w + 2p` floats, image i's row y at plane row `p + i·(h + 2p) + y`
/// with its pixels from column p, zeros everywhere else. Neighbouring images
/// and rows share their zero bands, so output position
/// `q = (i·(h + 2p) + y)·wp + x` reads tap (ky, kx) at `q + ky·wp + kx`, and
/// the input pixel (i, y, x) itself sits at `lead + q`.
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
    wp = w + 2 * pad
    rowsPerImage = h + 2 * pad
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

/// Whether `conv2d` with this geometry goes through the same-convolution kernels.
func usesSameConvolution(_ g: ConvGeometry, n: Int) -> Bool {
  guard sameConvolutionPolicy != .never, SameConvolution.isSupported,
        g.stride == 1, g.kh == g.kw, g.kh % 2 == 1, g.pad == g.kh / 2 else { return false }
  // Small images spend most positions on the zero bands; im2col wins there.
  return sameConvolutionPolicy == .always || SamePlanes(n: n, h: g.h, w: g.w, kernel: g.kh).waste <= 1.3
}

private let channelBlock = sameConvolutionChannelBlock

private func blocks(_ channels: Int) -> Int { (channels + channelBlock - 1) / channelBlock }

/// Weights `w[o][c][t]` packed for the forward kernel as `[o/8][c][t][8]`;
/// `flipped` packs the input-gradient kernel `w'[c][o][t] = w[o][c][T−1−t]`
/// instead (its output channels are w's input channels).
private func packWeights(_ w: UnsafePointer<Float>, out o: Int, in c: Int, taps: Int, flipped: Bool) -> [Float] {
  let (rows, inner) = flipped ? (c, o) : (o, c)
  var packed = [Float](repeating: 0, count: blocks(rows) * channelBlock * inner * taps)
  for r in 0..<rows {
    for i in 0..<inner {
      for t in 0..<taps {
        let value = flipped ? w[(i * c + r) * taps + taps - 1 - t] : w[(r * c + i) * taps + t]
        packed[(((r / channelBlock) * inner + i) * taps + t) * channelBlock + r % channelBlock] = value
      }
    }
  }
  return packed
}

/// `out[r][q]` for every output channel block and position: the forward
/// kernel over all blocks × position ranges, spread over the threads.
private func convolvePlanes(_ planes: UnsafePointer<Float>, _ layout: SamePlanes, inChannels: Int,
                            packed: [Float], outBlocks: Int, _ out: UnsafeMutablePointer<Float>) {
  let offsets = layout.offsets, taps = offsets.count
  let block = sameConvolutionPositionBlock
  let spans = layout.positions / block
  let ranges = max(1, min(spans, (4 * workerThreads + outBlocks - 1) / outBlocks))
  packed.withUnsafeBufferPointer { pw in
    offsets.withUnsafeBufferPointer { po in
      parallelFor(outBlocks * ranges, cost: 1 << 20) { item in
        let b = item / ranges, r = item % ranges
        let q0 = spans * r / ranges * block, q1 = spans * (r + 1) / ranges * block
        SameConvolution.forward(src: planes, planeStride: layout.stride, cin: inChannels,
                                offsets: po.baseAddress!, taps: taps,
                                w: pw.baseAddress! + b * inChannels * taps * channelBlock,
                                dst: out + b * channelBlock * layout.positions, dstStride: layout.positions,
                                q0: q0, q1: q1)
      }
    }
  }
}

/// Forward: `y[n][o][h][w] = conv2d(x, w, bias)` for a same convolution.
func sameConvolutionForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?,
                            _ g: ConvGeometry, n: Int, out o: Int, _ y: UnsafeMutablePointer<Float>) {
  let layout = SamePlanes(n: n, h: g.h, w: g.w, kernel: g.kh)
  let packed = packWeights(w, out: o, in: g.c, taps: g.kh * g.kw, flipped: false)
  let outRows = blocks(o) * channelBlock
  withScratch(g.c * layout.stride + outRows * layout.positions) { scratch in
    let planes = scratch, out = scratch + g.c * layout.stride
    layout.scatter(x, channels: g.c, planes: g.c, into: planes)
    convolvePlanes(planes, layout, inChannels: g.c, packed: packed, outBlocks: blocks(o), out)
    layout.gather(out, rowStride: layout.positions, channels: o, bias: bias, into: y)
  }
}

/// Backward: the input gradient `gx` and/or the weight gradient `gw`
/// (added to, `[o][c][kh][kw]`) from the output gradient `gy[n][o][h][w]`.
func sameConvolutionBackward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                             _ g: ConvGeometry, n: Int, out o: Int,
                             gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
  let layout = SamePlanes(n: n, h: g.h, w: g.w, kernel: g.kh)
  let taps = g.kh * g.kw, c = g.c
  let outRows = blocks(o) * channelBlock, inRows = blocks(c) * channelBlock
  // The weight gradient is summed over tiles of positions so that one tile of
  // eight gradient rows stays in cache while every input channel passes.
  let tile = 4096
  let tiles = (layout.positions + tile - 1) / tile
  withScratch(outRows * layout.stride + c * layout.stride + inRows * layout.positions + outRows * c * taps) { scratch in
    let gyPlanes = scratch, xPlanes = gyPlanes + outRows * layout.stride
    let gxOut = xPlanes + c * layout.stride, gwPadded = gxOut + inRows * layout.positions
    layout.scatter(gy, channels: o, planes: outRows, into: gyPlanes)
    if let gx {
      // gx = same convolution of gy with the flipped, transposed kernel.
      let packed = packWeights(w, out: o, in: c, taps: taps, flipped: true)
      convolvePlanes(gyPlanes, layout, inChannels: o, packed: packed, outBlocks: blocks(c), gxOut)
      layout.gather(gxOut, rowStride: layout.positions, channels: c, bias: nil, into: gx)
    }
    guard let gw else { return }
    layout.scatter(x, channels: c, planes: c, into: xPlanes)
    gwPadded.update(repeating: 0, count: outRows * c * taps)
    let offsets = layout.offsets
    // Work items: (output block, group of input channels); each owns its rows of gw.
    let groups = max(1, min(c, (4 * workerThreads + blocks(o) - 1) / blocks(o)))
    offsets.withUnsafeBufferPointer { po in
      parallelFor(blocks(o) * groups, cost: 1 << 20) { item in
        let b = item / groups, grp = item % groups
        let c0 = c * grp / groups, c1 = c * (grp + 1) / groups
        let gyRows = gyPlanes + b * channelBlock * layout.stride + layout.lead
        for t in 0..<tiles {
          let q0 = t * tile, q1 = min(layout.positions, q0 + tile)
          for ci in c0..<c1 {
            SameConvolution.weightGradient(gy: gyRows, gyStride: layout.stride,
                                           src: xPlanes + ci * layout.stride, offsets: po.baseAddress!, taps: taps,
                                           dw: gwPadded + (b * channelBlock * c + ci) * taps, dwStride: c * taps,
                                           q0: q0, q1: q1)
          }
        }
      }
    }
    for i in 0..<(o * c * taps) { gw[i] += gwPadded[i] }
  }
}
