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
func store3(_ p: UnsafeMutablePointer<Float>, _ a: Lanes, _ b: Lanes, _ c: Lanes) {
  let r = UnsafeMutableRawPointer(p)
  r.storeBytes(of: a, as: Lanes.self)
  r.storeBytes(of: b, toByteOffset: 64, as: Lanes.self)
  r.storeBytes(of: c, toByteOffset: 128, as: Lanes.self)
}

@inline(__always)
func store4(_ p: UnsafeMutablePointer<Float>, _ a: Lanes, _ b: Lanes, _ c: Lanes, _ d: Lanes) {
  let r = UnsafeMutableRawPointer(p)
  r.storeBytes(of: a, as: Lanes.self)
  r.storeBytes(of: b, toByteOffset: 64, as: Lanes.self)
  r.storeBytes(of: c, toByteOffset: 128, as: Lanes.self)
  r.storeBytes(of: d, toByteOffset: 192, as: Lanes.self)
}
