import RiadKernels

/// Which backend runs a convolution. riad's kernels (AVX-512, AVX2 or
/// NEON: ConvolutionKernels.swift) run the U-Net's convolutions when the
/// processor has one of those instruction sets:
/// same convolutions of 16² and larger images over planes
/// (SameConvolution.swift), strided and transposed ones by phases over the
/// same planes (PhaseConvolution.swift), and same convolutions of images up
/// to 16² with many channels position-major (PositionConvolution.swift), as
/// are the strided ones on grids too small for phases
/// (StridedPositionConvolution.swift).
/// Before all of them, 3×3 same convolutions with 32 channels or more take
/// Winograd's F(4×4, 3×3) or F(2×2, 3×3) (WinogradConvolution.swift:
/// transforms and 36 or 16 sgemm calls, on every processor). Everything
/// else, and every other convolution on processors without a kernel
/// variant, takes im2col + OpenBLAS (Im2colConvolution.swift), which tests
/// also use as the reference.

/// How `conv2d` and `conv_transpose2d` choose among their implementations.
public enum ConvolutionPolicy: Sendable {
  /// The measured best: Winograd's F(4×4, 3×3) or F(2×2, 3×3) for 3×3
  /// same convolutions with enough channels (`WinogradBackend.automatic`,
  /// on every processor), then
  /// position-major kernels for images up to 16² with channels in multiples
  /// of 64, plane kernels for other images of 16² and larger, im2col +
  /// sgemm for the rest.
  case automatic
  /// Always im2col + sgemm.
  case im2col
  /// The plane kernels (same and strided) wherever the geometry allows.
  case planes
  /// The position-major kernels wherever the geometry and channel counts
  /// allow, the plane kernels elsewhere.
  case positions
  /// Winograd's F(2×2, 3×3) for every 3×3 same convolution and F(2×2, 2×2)
  /// for every 4×4 stride-2 one and its transpose, the automatic choice
  /// elsewhere.
  case winograd
  /// As `winograd`, with F(4×4, 3×3) for the 3×3 same convolutions.
  case winograd4
}

/// The policy in force; tests switch it to compare the paths.
nonisolated(unsafe) public var convolutionPolicy = ConvolutionPolicy.automatic

/// Whether convolution kernels are in force (a variant this processor runs).
public var convolutionKernelsAvailable: Bool { kernelVariant != nil }

/// One way to run the convolutions of one layer shape: a geometry `g`
/// (C×H×W images, kh×kw windows, stride, padding) over `n` images into `o`
/// channels. A backend owns its layouts, its scratch memory and its threads,
/// and is chosen once per shape (`convolutionBackend`). Its promise, which
/// lets callers hand it memory that was never filled: `forward` writes
/// every element of y, and `backward` writes every element of gx and adds
/// into gw (which the caller zeroes).
protocol ConvolutionBackend {
  /// What `riad bench --layers` prints: "im2col", "planes", "phases", "positions", "winograd", "winograd4".
  var name: String { get }
  /// y `[n][o][ho][wo]` = conv(x `[n][c][h][w]`, w `[o][c][kh][kw]`) + bias.
  func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, _ y: UnsafeMutablePointer<Float>)
  /// From gy `[n][o][ho][wo]`: gx (when asked) and gw (when asked).
  func backward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?)
}

/// A backend that also runs the transposed convolution of its shape, the
/// adjoint: x `[n][o][ho][wo]` to y `[n][c][h][w]` with the same weight
/// `[o][c][kh][kw]` (PyTorch's `[Cin, Cout, kh, kw]`), under the same promise.
protocol TransposedConvolutionBackend: ConvolutionBackend {
  func transposedForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, _ y: UnsafeMutablePointer<Float>)
  func transposedBackward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                          gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?)
}

/// Same convolutions through riad's kernels: over planes
/// (SameConvolution.swift) or, for small images with many channels,
/// position-major (PositionConvolution.swift).
struct SameBackend: ConvolutionBackend {
  enum Layout { case planes, positions }
  let layout: Layout
  let g: ConvGeometry
  let n: Int, o: Int
  var name: String { layout == .planes ? "planes" : "positions" }
  func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
    switch layout {
    case .planes: sameConvolutionForward(x, w, bias: bias, g, n: n, out: o, y)
    case .positions: positionConvolutionForward(x, w, bias: bias, g, n: n, out: o, y)
    }
  }
  func backward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
    switch layout {
    case .planes: sameConvolutionBackward(x, w, gy, g, n: n, out: o, gx: gx, gw: gw)
    case .positions: positionConvolutionBackward(x, w, gy, g, n: n, out: o, gx: gx, gw: gw)
    }
  }
}

/// Strided convolutions and their transposes by phases over planes (PhaseConvolution.swift).
struct PhaseBackend: TransposedConvolutionBackend {
  let phases: PhaseConvolution
  let c: Int, o: Int
  var name: String { "phases" }
  func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
    phases.conv2dForward(x, channels: c, w, out: o, bias: bias, y)
  }
  func backward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
    phases.conv2dBackward(x, channels: c, w, out: o, gy, gx: gx, gw: gw)
  }
  func transposedForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
    phases.transposedForward(x, channels: o, w, out: c, bias: bias, y)
  }
  func transposedBackward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                          gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
    phases.transposedBackward(x, channels: o, w, out: c, gy, gx: gx, gw: gw)
  }
}

/// The backend for a convolution of geometry `g` over `n` images into `o` channels.
func convolutionBackend(_ g: ConvGeometry, n: Int, out o: Int) -> any ConvolutionBackend {
  let im2col = Im2colBackend(g: g, n: n, o: o)
  guard convolutionPolicy != .im2col else { return im2col }
  switch convolutionPolicy {
  case .winograd: if let winograd = WinogradBackend(g, n: n, out: o, tile: .two) { return winograd }
  case .winograd4: if let winograd = WinogradBackend(g, n: n, out: o, tile: .four) { return winograd }
  case .automatic: if let winograd = WinogradBackend.automatic(g, n: n, out: o) { return winograd }
  default: break
  }
  if let winograd = stridedWinograd(g, n: n, out: o) { return winograd }
  guard kernelVariant != nil, g.kh == g.kw else { return im2col }
  if g.stride == 1, g.kh % 2 == 1, g.pad == g.kh / 2 {
    // Small images spend most positions on the planes' zero bands.
    let small = SamePlanes(n: n, h: g.h, w: g.w, kernel: g.kh).waste > 1.2
    let wide = o % positionConvolutionChannelBlock == 0 && g.c % positionConvolutionChannelBlock == 0
    let planes = SameBackend(layout: .planes, g: g, n: n, o: o), positions = SameBackend(layout: .positions, g: g, n: n, o: o)
    switch convolutionPolicy {
    case .planes: return planes
    case .positions: return wide ? positions : planes
    default:
      // Position-major wins for many channels up to 16×16 images (measured
      // 5–10 % over planes at 16², which waste 13 % of their positions
      // there), and loses at 256²; below a few hundred pixels in all (4×4
      // images in a batch of 8) it has too few blocks to share and sgemm wins.
      if wide, n * g.h * g.w >= 256, small || g.h * g.w <= 256 { return positions }
      return small ? im2col : planes
    }
  }
  return stridedBackend(g, n: n, out: o) ?? im2col
}

/// The backend for the transposed convolution that is the adjoint of a
/// convolution of geometry `g` from `g.c` to `o` channels.
func transposedConvolutionBackend(_ g: ConvGeometry, n: Int, out o: Int) -> any TransposedConvolutionBackend {
  guard convolutionPolicy != .im2col else { return Im2colBackend(g: g, n: n, o: o) }
  if let winograd = stridedWinograd(g, n: n, out: o) { return winograd }
  guard kernelVariant != nil, g.kh == g.kw else { return Im2colBackend(g: g, n: n, o: o) }
  return stridedBackend(g, n: n, out: o) ?? Im2colBackend(g: g, n: n, o: o)
}

/// Winograd's F(2×2, 2×2) over phases for a 4×4 stride-2 convolution (and
/// its transpose) when asked, or when the automatic policy finds it pays.
private func stridedWinograd(_ g: ConvGeometry, n: Int, out o: Int) -> StridedWinogradBackend? {
  guard let winograd = StridedWinogradBackend(g, n: n, out: o),
        convolutionPolicy == .winograd || convolutionPolicy == .winograd4
          || (convolutionPolicy == .automatic && winograd.pays) else { return nil }
  return winograd
}

/// A kernel backend for a strided convolution (and its transpose), or nil.
/// The position-major kernels serve the 4×4 stride-2 geometry with channels
/// in blocks of 64 on coarse grids of at most 16² pixels per image, given
/// 128 · 128 coarse pixels × output channels in the batch or more. Measured
/// (docs/performance.md, two alternating rounds): 8² → 4² at batch 8 and
/// its transpose 105–150 GFLOP/s against im2col's 80–130; 32² → 16² with
/// 512 channels at batch 1 and 128 → 256 at batch 4, 110–170 against the
/// phases' 55–145, whose planes lose on these small grids what they save
/// on larger ones (64² → 32²: phases 150–190, positions 135–150).
/// Elsewhere phases, where their planes waste at most a fifth of their
/// positions (or a policy asks for them), and then the position-major
/// kernels again when the coarse grid of the batch has 256 pixels or more.
/// With less work there are too few blocks of six positions for two
/// threads and sgemm wins.
private func stridedBackend(_ g: ConvGeometry, n: Int, out o: Int) -> (any TransposedConvolutionBackend)? {
  let positions = convolutionPolicy == .planes ? nil : StridedPositionBackend(g, n: n, out: o)
  if convolutionPolicy == .positions, let positions { return positions }
  if convolutionPolicy == .automatic, let positions, positions.smallGrid { return positions }
  if let phases = PhaseConvolution(n: n, h: g.h, w: g.w, kernel: g.kh, stride: g.stride, pad: g.pad),
     convolutionPolicy != .automatic || phases.planes.waste <= 1.2 {
    return PhaseBackend(phases: phases, c: g.c, o: o)
  }
  guard let positions, n * positions.coarseSize >= 256 else { return nil }
  return positions
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

extension Tensor {
  /// The backend `conv2d` (or, `transposed`, `conv_transpose2d`) takes for
  /// an input of shape `input` and a weight of shape `weight`: "planes",
  /// "phases", "positions", "winograd" or "im2col" (`riad bench --layers` prints it for
  /// every layer of the U-Net).
  public static func convolutionImplementation(input: [Int], weight: [Int], stride: Int, padding: Int,
                                               transposed: Bool = false) -> String {
    guard input.count == 4, weight.count == 4, stride >= 1 else { return "im2col" }
    let (n, h, w, kh, kw) = (input[0], input[2], input[3], weight[2], weight[3])
    if transposed {
      let ho = (h - 1) * stride - 2 * padding + kh, wo = (w - 1) * stride - 2 * padding + kw
      let g = ConvGeometry(c: weight[1], h: ho, w: wo, kh: kh, kw: kw, stride: stride, pad: padding, ho: h, wo: w)
      return transposedConvolutionBackend(g, n: n, out: input[1]).name
    }
    let ho = (h + 2 * padding - kh) / stride + 1, wo = (w + 2 * padding - kw) / stride + 1
    let g = ConvGeometry(c: input[1], h: h, w: w, kh: kh, kw: kw, stride: stride, pad: padding, ho: ho, wo: wo)
    return convolutionBackend(g, n: n, out: weight[0]).name
  }
}
