/// RiadKernels: register-blocked convolution kernels in SIMD lanes.
///
/// One source, compiled once per instruction set (Package.swift): as
/// `RiadKernels` for AVX-512 on x86-64 (16 lanes, 32 registers) or NEON on
/// arm64 (4 lanes, 32 registers), and as `RiadKernelsAVX2` for AVX2 + FMA
/// (8 lanes, 16 registers), whose source files are links to these. A `Lanes`
/// value is one vector register and `addingProduct` one FMA instruction.
/// Each variant keeps the same contract (blocks of 48 positions, 8 or 64
/// output channels) and splits it into as many passes as its registers
/// need. Functions must only be called when that module's
/// `KernelSupport.isAvailable`; RiadTensor checks (ConvolutionKernels.swift)
/// and otherwise runs its portable im2col + OpenBLAS path. The kernels only
/// multiply and add: layouts, threads and weight packing are RiadTensor's.

import CPUFeatures

#if RIAD_AVX2
public typealias Lanes = SIMD8<Float>
#elseif arch(arm64)
public typealias Lanes = SIMD4<Float>
#else
public typealias Lanes = SIMD16<Float>
#endif

/// Floats per vector.
@usableFromInline let lanes = Lanes.scalarCount

public enum KernelSupport {
  /// The instruction set this module was compiled for.
  public static let isa: String = {
    #if RIAD_AVX2
    return "AVX2"
    #elseif RIAD_AVX512
    return "AVX-512"
    #elseif arch(arm64)
    return "NEON"
    #else
    return "none"
    #endif
  }()

  /// True when this module was compiled for an instruction set and the
  /// processor (and the operating system) can run it.
  public static let isAvailable: Bool = {
    #if RIAD_AVX2
    return riad_cpu_isa_level() >= 2
    #elseif RIAD_AVX512
    return riad_cpu_has_avx512() != 0
    #elseif arch(arm64)
    return true  // NEON is part of every arm64 processor
    #else
    return false
    #endif
  }()
}

@inline(__always)
func loadLanes(_ p: UnsafePointer<Float>) -> Lanes {
  UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
}

@inline(__always)
func storeLanes(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
}

/// Three vectors of accumulators: consecutive positions of one output
/// channel, or one weight-gradient entry against three sources. Kept in
/// `InlineArray`s whose loops have constant trip counts, so the compiler
/// unrolls them and every vector lives in a register.
struct Row3 {
  var v0 = Lanes(), v1 = Lanes(), v2 = Lanes()

  /// self += w · (x0, x1, x2): three FMAs.
  @inline(__always)
  mutating func add(_ w: Lanes, _ x0: Lanes, _ x1: Lanes, _ x2: Lanes) {
    v0 = v0.addingProduct(w, x0); v1 = v1.addingProduct(w, x1); v2 = v2.addingProduct(w, x2)
  }

  @inline(__always)
  func store(_ p: UnsafeMutablePointer<Float>) {
    storeLanes(v0, p); storeLanes(v1, p + lanes); storeLanes(v2, p + 2 * lanes)
  }

  @inline(__always)
  mutating func load(_ p: UnsafePointer<Float>) {
    v0 = loadLanes(p); v1 = loadLanes(p + lanes); v2 = loadLanes(p + 2 * lanes)
  }
}

/// A run of consecutive output channels of one position (and, loaded from
/// packed weights, the weights of those channels): four vectors where there
/// are 32 registers, two where there are 16.
struct ChannelRow {
  #if RIAD_AVX2
  var v0 = Lanes(), v1 = Lanes()
  static let vectors = 2
  #else
  var v0 = Lanes(), v1 = Lanes(), v2 = Lanes(), v3 = Lanes()
  static let vectors = 4
  #endif
  /// Channels per row.
  static var width: Int { vectors * lanes }

  init() {}

  @inline(__always)
  init(loading p: UnsafePointer<Float>) {
    v0 = loadLanes(p); v1 = loadLanes(p + lanes)
    #if !RIAD_AVX2
    v2 = loadLanes(p + 2 * lanes); v3 = loadLanes(p + 3 * lanes)
    #endif
  }

  /// self += s · w, one FMA per vector.
  @inline(__always)
  mutating func add(_ s: Lanes, _ w: ChannelRow) {
    v0 = v0.addingProduct(s, w.v0); v1 = v1.addingProduct(s, w.v1)
    #if !RIAD_AVX2
    v2 = v2.addingProduct(s, w.v2); v3 = v3.addingProduct(s, w.v3)
    #endif
  }

  @inline(__always)
  func store(_ p: UnsafeMutablePointer<Float>) {
    storeLanes(v0, p); storeLanes(v1, p + lanes)
    #if !RIAD_AVX2
    storeLanes(v2, p + 2 * lanes); storeLanes(v3, p + 3 * lanes)
    #endif
  }

  /// Adds the row into what `p` holds.
  @inline(__always)
  func addStore(_ p: UnsafeMutablePointer<Float>) {
    var sum = ChannelRow(loading: p)
    sum.v0 += v0; sum.v1 += v1
    #if !RIAD_AVX2
    sum.v2 += v2; sum.v3 += v3
    #endif
    sum.store(p)
  }
}
