import Foundation
import RiadKernels
import RiadKernelsAVX2

/// The compiled variants of riad's convolution kernels, and which one runs.
///
/// `RiadKernels` is the kernel source compiled for AVX-512 on x86-64 (NEON
/// on arm64); `RiadKernelsAVX2` the same source for AVX2 + FMA. The widest
/// variant the processor runs is chosen unless `RIAD_KERNELS` (or
/// `riad bench --kernels`) names another one, or `none` for im2col +
/// OpenBLAS everywhere; tests run every variant the machine can execute.
public enum KernelVariant: String, CaseIterable, Sendable {
  case avx512, avx2, neon

  /// Whether this build and processor can run the variant.
  public var isAvailable: Bool {
    switch self {
    case .avx512: return RiadKernels.KernelSupport.isAvailable && RiadKernels.KernelSupport.isa == "AVX-512"
    case .neon: return RiadKernels.KernelSupport.isAvailable && RiadKernels.KernelSupport.isa == "NEON"
    case .avx2: return RiadKernelsAVX2.KernelSupport.isAvailable
    }
  }

  /// The instruction set's name.
  public var isa: String {
    switch self {
    case .avx512: return "AVX-512"
    case .avx2: return "AVX2"
    case .neon: return "NEON"
    }
  }

  /// Every variant this machine can run, widest first.
  public static var available: [KernelVariant] { allCases.filter(\.isAvailable) }

  /// The variant `RIAD_KERNELS` asks for (`auto`, `avx512`, `avx2`, `neon`,
  /// `none`), or the widest available; nil means im2col + OpenBLAS.
  public static func choose(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> KernelVariant? {
    let asked = (environment["RIAD_KERNELS"] ?? "auto").lowercased()
    if asked == "none" { return nil }
    if let v = KernelVariant(rawValue: asked), v.isAvailable { return v }
    return available.first
  }
}

/// The kernel variant in force (nil: none of riad's kernels, every
/// convolution by Winograd or im2col on OpenBLAS); tests and
/// `riad bench --kernels` switch it.
nonisolated(unsafe) public var kernelVariant: KernelVariant? = KernelVariant.choose()

/// The kernels of the variant in force, one entry per kernel; callers have
/// checked that a variant is in force (`convolutionBackend`).
enum Kernels {
  static func sameForward(src: UnsafePointer<Float>, planeStride: Int, cin: Int,
                          offsets: UnsafePointer<Int>, offsetStride: Int = 0, taps: Int, w: UnsafePointer<Float>,
                          dst: UnsafeMutablePointer<Float>, dstStride: Int, q0: Int, q1: Int, accumulate: Bool = false,
                          rows: Int = kernelRows) {
    if kernelVariant == .avx2 {
      RiadKernelsAVX2.SameConvolution.forward(src: src, planeStride: planeStride, cin: cin, offsets: offsets, offsetStride: offsetStride,
                                               taps: taps, w: w, dst: dst, dstStride: dstStride, q0: q0, q1: q1, accumulate: accumulate,
                                               rows: rows)
    } else {
      RiadKernels.SameConvolution.forward(src: src, planeStride: planeStride, cin: cin, offsets: offsets, offsetStride: offsetStride,
                                           taps: taps, w: w, dst: dst, dstStride: dstStride, q0: q0, q1: q1, accumulate: accumulate,
                                           rows: rows)
    }
  }

  static func sameWeightGradient(gy: UnsafePointer<Float>, gyStride: Int, sources: UnsafePointer<UnsafePointer<Float>>, count: Int,
                                 dw: UnsafeMutablePointer<Float>, dwStride: Int, q0: Int, q1: Int,
                                 rows: Int = kernelRows) {
    if kernelVariant == .avx2 {
      RiadKernelsAVX2.SameConvolution.weightGradient(gy: gy, gyStride: gyStride, sources: sources, count: count,
                                                      dw: dw, dwStride: dwStride, q0: q0, q1: q1, rows: rows)
    } else {
      RiadKernels.SameConvolution.weightGradient(gy: gy, gyStride: gyStride, sources: sources, count: count,
                                                  dw: dw, dwStride: dwStride, q0: q0, q1: q1, rows: rows)
    }
  }

  static func positionForward(src: UnsafePointer<Float>, cin: Int, offsets: UnsafePointer<Int>, taps: Int,
                              positions: UnsafePointer<Int>, count: Int, w: UnsafePointer<Float>,
                              dst: UnsafeMutablePointer<Float>, dstStride: Int) {
    if kernelVariant == .avx2 {
      RiadKernelsAVX2.PositionConvolution.forward(src: src, cin: cin, offsets: offsets, taps: taps, positions: positions, count: count,
                                                   w: w, dst: dst, dstStride: dstStride)
    } else {
      RiadKernels.PositionConvolution.forward(src: src, cin: cin, offsets: offsets, taps: taps, positions: positions, count: count,
                                               w: w, dst: dst, dstStride: dstStride)
    }
  }

  static func positionWeightGradient(src: UnsafePointer<Float>, cin: Int, c0: Int, offset: Int,
                                     positions: UnsafePointer<Int>, count: Int, gy: UnsafePointer<Float>, gyStride: Int,
                                     dw: UnsafeMutablePointer<Float>, dwStride: Int) {
    if kernelVariant == .avx2 {
      RiadKernelsAVX2.PositionConvolution.weightGradient(src: src, cin: cin, c0: c0, offset: offset, positions: positions, count: count,
                                                          gy: gy, gyStride: gyStride, dw: dw, dwStride: dwStride)
    } else {
      RiadKernels.PositionConvolution.weightGradient(src: src, cin: cin, c0: c0, offset: offset, positions: positions, count: count,
                                                      gy: gy, gyStride: gyStride, dw: dw, dwStride: dwStride)
    }
  }
}
