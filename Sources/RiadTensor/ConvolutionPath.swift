import RiadKernels

/// Which implementation runs a convolution. riad's kernels (AVX-512, AVX2 or
/// NEON: ConvolutionKernels.swift) run the U-Net's convolutions when the
/// processor has one of those instruction sets:
/// same convolutions of 16² and larger images over planes
/// (SameConvolution.swift), strided and transposed ones by phases over the
/// same planes (PhaseConvolution.swift), and same convolutions of images up
/// to 16² with many channels position-major (PositionConvolution.swift).
/// Everything else, and every convolution on other processors, takes im2col
/// + OpenBLAS (Convolution.swift), which tests also use as the reference.

/// How `conv2d` and `conv_transpose2d` choose among their implementations.
public enum ConvolutionPolicy: Sendable {
  /// The measured best: position-major kernels for images up to 16² with
  /// channels in multiples of 64, plane kernels for other images of 16² and
  /// larger, im2col + sgemm for the rest.
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

/// Whether convolution kernels are in force (a variant this processor runs).
public var convolutionKernelsAvailable: Bool { kernelVariant != nil }

/// The implementation one convolution takes.
enum ConvolutionPath {
  case im2col, planes, positions
  case phases(PhaseConvolution)

  /// The kernel paths write every element of their results; im2col's col2im
  /// adds into zeros.
  var writesInFull: Bool {
    if case .im2col = self { return false }
    return true
  }
}

/// Chooses the implementation for a convolution of geometry `g` over `n`
/// images into `o` channels (for a transposed convolution, `g` is the
/// convolution it is the adjoint of, and only `.phases` applies).
func convolutionPath(_ g: ConvGeometry, n: Int, out o: Int) -> ConvolutionPath {
  guard convolutionPolicy != .im2col, kernelVariant != nil, g.kh == g.kw else { return .im2col }
  if g.stride == 1, g.kh % 2 == 1, g.pad == g.kh / 2 {
    // Small images spend most positions on the planes' zero bands.
    let small = SamePlanes(n: n, h: g.h, w: g.w, kernel: g.kh).waste > 1.2
    let wide = o % positionConvolutionChannelBlock == 0 && g.c % positionConvolutionChannelBlock == 0
    switch convolutionPolicy {
    case .planes: return .planes
    case .positions: return wide ? .positions : .planes
    default:
      // Position-major wins for many channels up to 16×16 images (measured
      // 5–10 % over planes at 16², which waste 13 % of their positions
      // there), and loses at 256²; below a few hundred pixels in all (4×4
      // images in a batch of 8) it has too few blocks to share and sgemm wins.
      if wide, n * g.h * g.w >= 256, small || g.h * g.w <= 256 { return .positions }
      return small ? .im2col : .planes
    }
  }
  if let phase = PhaseConvolution(n: n, h: g.h, w: g.w, kernel: g.kh, stride: g.stride, pad: g.pad),
     convolutionPolicy != .automatic || phase.planes.waste <= 1.2 {
    return .phases(phase)
  }
  return .im2col
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
  /// The implementation `conv2d` (or, `transposed`, `conv_transpose2d`)
  /// takes for an input of shape `input` and a weight of shape `weight`:
  /// "planes", "phases", "positions" or "im2col" (`riad bench --layers`
  /// prints it for every layer of the U-Net).
  public static func convolutionImplementation(input: [Int], weight: [Int], stride: Int, padding: Int,
                                               transposed: Bool = false) -> String {
    guard input.count == 4, weight.count == 4, stride >= 1 else { return "im2col" }
    let (n, h, w, kh, kw) = (input[0], input[2], input[3], weight[2], weight[3])
    let path: ConvolutionPath
    if transposed {
      let ho = (h - 1) * stride - 2 * padding + kh, wo = (w - 1) * stride - 2 * padding + kw
      let g = ConvGeometry(c: weight[1], h: ho, w: wo, kh: kh, kw: kw, stride: stride, pad: padding, ho: h, wo: w)
      if case .phases(let phase) = convolutionPath(g, n: n, out: input[1]) { path = .phases(phase) } else { path = .im2col }
    } else {
      let ho = (h + 2 * padding - kh) / stride + 1, wo = (w + 2 * padding - kw) / stride + 1
      let g = ConvGeometry(c: input[1], h: h, w: w, kh: kh, kw: kw, stride: stride, pad: padding, ho: ho, wo: wo)
      path = convolutionPath(g, n: n, out: weight[0])
    }
    switch path {
    case .im2col: return "im2col"
    case .planes: return "planes"
    case .positions: return "positions"
    case .phases: return "phases"
    }
  }
}
