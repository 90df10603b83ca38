import RiadKernels

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
    convolvePlanes(.planes(xPhases), planes, inChannels: c * phases, offsets: table, offsetStride: taps, taps: taps,
                   packed: packed, outChannels: o, .planes(dst))
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
      convolvePlanes(.planes(g), planes, inChannels: o, offsets: mirrored, offsetStride: 0, taps: taps,
                     packed: packed, outChannels: c, .planes(scratch))
      gatherPhase(f, scratch, rowStride: planes.positions, channels: c, bias: bias, into: dst)
    }
  }

  /// `gw[o][c][ky][kx] += Σ_q g[o][q] · x-phase[c, φ][q + offset]`, from
  /// coarse planes `g` (o channels padded to 8, `planes.scatter` layout) and
  /// the phase planes of x. `scratch` holds `rowBlocks(o)·8 · c·s²·taps` floats.
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
    forEachImageChunk(planesPerImage: c * phases + rowBlocks(o) * kernelRows) { first, _, part in
      let planes = part.planes
      withScratch(c * phases * planes.stride + rowBlocks(o) * kernelRows * planes.positions) { scratch in
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
    let outRows = rowBlocks(o) * kernelRows
    forEachImageChunk(planesPerImage: outRows + c * phases + rowBlocks(c) * kernelRows) { first, _, part in
      let planes = part.planes
      let work = max(gx == nil ? 0 : rowBlocks(c) * kernelRows * planes.positions,
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
    let inRows = rowBlocks(ci) * kernelRows
    forEachImageChunk(planesPerImage: inRows + rowBlocks(co) * kernelRows) { first, _, part in
      let planes = part.planes
      withScratch(inRows * planes.stride + rowBlocks(co) * kernelRows * planes.positions) { scratch in
        planes.scatter(x + first * ci * coarseSize, channels: ci, planes: inRows, into: scratch)
        part.adjoint(scratch, out: ci, w, channels: co, bias: bias, into: y + first * co * fineSize,
                     scratch: scratch + inRows * planes.stride)
      }
    }
  }

  /// conv_transpose2d backward from gy `[n][co][h][w]`: gx (written) and gw (added to).
  func transposedBackward(_ x: UnsafePointer<Float>, channels ci: Int, _ w: UnsafePointer<Float>, out co: Int,
                          _ gy: UnsafePointer<Float>, gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
    let inRows = rowBlocks(ci) * kernelRows
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
