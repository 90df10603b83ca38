/// RiadKernels: register-blocked convolution kernels in 16-float SIMD lanes.
///
/// The module is compiled for AVX-512 (Package.swift), so that a `Lanes`
/// value is one zmm register and `addingProduct` one FMA instruction. Its
/// functions must only be called when `KernelSupport.isAvailable`; RiadTensor
/// checks that and otherwise runs its portable im2col + OpenBLAS path. The
/// kernels only multiply and add: layouts, threads and weight packing are
/// RiadTensor's (SameConvolution.swift, PhaseConvolution.swift,
/// PositionConvolution.swift there).

import CPUFeatures

public typealias Lanes = SIMD16<Float>

public enum KernelSupport {
  /// True when this module was compiled for AVX-512 and the processor has it.
  public static let isAvailable: Bool = {
    #if RIAD_AVX512
    return riad_cpu_has_avx512() != 0
    #else
    return false
    #endif
  }()
}

@inline(__always)
func load(_ p: UnsafePointer<Float>) -> Lanes {
  UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
}

@inline(__always)
func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
}

/// One row of accumulators: three vectors (48 floats) of an output channel
/// or of a weight-gradient entry. Kept in `InlineArray`s whose loops have
/// constant trip counts, so the compiler unrolls them and every vector lives
/// in a register.
struct Row3 {
  var v0 = Lanes(), v1 = Lanes(), v2 = Lanes()

  /// self += w · (x0, x1, x2): three FMAs.
  @inline(__always)
  mutating func add(_ w: Lanes, _ x0: Lanes, _ x1: Lanes, _ x2: Lanes) {
    v0 = v0.addingProduct(w, x0); v1 = v1.addingProduct(w, x1); v2 = v2.addingProduct(w, x2)
  }

  @inline(__always)
  func store(_ p: UnsafeMutablePointer<Float>) {
    RiadKernels.store(v0, p); RiadKernels.store(v1, p + 16); RiadKernels.store(v2, p + 32)
  }

  @inline(__always)
  mutating func load(_ p: UnsafePointer<Float>) {
    v0 = RiadKernels.load(p); v1 = RiadKernels.load(p + 16); v2 = RiadKernels.load(p + 32)
  }
}

/// One row of four vectors (64 floats): 64 output channels of one position.
struct Row4 {
  var v0 = Lanes(), v1 = Lanes(), v2 = Lanes(), v3 = Lanes()

  /// self += w · (x0, x1, x2, x3): four FMAs.
  @inline(__always)
  mutating func add(_ w: Lanes, _ x0: Lanes, _ x1: Lanes, _ x2: Lanes, _ x3: Lanes) {
    v0 = v0.addingProduct(w, x0); v1 = v1.addingProduct(w, x1)
    v2 = v2.addingProduct(w, x2); v3 = v3.addingProduct(w, x3)
  }

  @inline(__always)
  func store(_ p: UnsafeMutablePointer<Float>) {
    RiadKernels.store(v0, p); RiadKernels.store(v1, p + 16)
    RiadKernels.store(v2, p + 32); RiadKernels.store(v3, p + 48)
  }
}
