import CBLAS
import Foundation
import Dispatch

/// Row-major single-precision GEMM: `C = alpha·op(A)·op(B) + beta·C`, with
/// `op(A)` of size m×k and `op(B)` k×n. All heavy math in riad goes here.
///
/// Large products are split by columns of C across riad's worker threads,
/// each calling a single-threaded OpenBLAS: OpenBLAS's own threads spin
/// (sched_yield) between calls and would compete with riad's loops.
func sgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
           _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
           _ b: UnsafePointer<Float>, _ ldb: Int,
           _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
  if m == 0 || n == 0 { return }
  _ = blasSingleThreaded
  let parts = min(workerThreads, max(1, (m * n * k) >> 18), max(1, n / 64))
  if parts <= 1 {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    return
  }
  parallelFor(parts, cost: 1 << 30) { p in
    let lo = n * p / parts / 16 * 16, hi = p == parts - 1 ? n : n * (p + 1) / parts / 16 * 16
    guard hi > lo else { return }
    // Columns lo..<hi of op(B) are columns of B (no transpose) or rows of B (transposed).
    let bOffset = transB ? lo * ldb : lo
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(hi - lo), Int32(k), alpha, a, Int32(lda), b + bOffset, Int32(ldb), beta, c + lo, Int32(ldc))
  }
}

/// OpenBLAS runs single-threaded; set once, before the first product.
let blasSingleThreaded: Bool = {
  openblas_set_num_threads(1)
  return true
}()

/// Sets the number of threads riad's loops and products use. OpenBLAS itself
/// runs single-threaded: riad splits large products across threads.
public func setThreads(_ n: Int) {
  workerThreads = max(1, n)
  openblas_set_num_threads(1)
}

extension Tensor {
  /// Matrix product of 2-D tensors (`[m,k] @ [k,n]`); a 1-D operand is a
  /// row (left) or column (right) vector whose dimension is dropped.
  public static func matmul(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    guard (1...2).contains(a.rank), (1...2).contains(b.rank) else {
      throw TensorError("matmul: expected 1-D or 2-D tensors, got \(a.shape.shapeString) and \(b.shape.shapeString)")
    }
    let a2 = a.rank == 1 ? try a.reshaped([1, a.count]) : a
    let b2 = b.rank == 1 ? try b.reshaped([b.count, 1]) : b
    let (m, k, k2, n) = (a2.shape[0], a2.shape[1], b2.shape[0], b2.shape[1])
    guard k == k2 else {
      throw TensorError("matmul: inner dimensions differ: \(a.shape.shapeString) @ \(b.shape.shapeString)")
    }
    let y = Tensor(shape: [m, n], data: gemm(a2.data, false, b2.data, false, m, n, k))
      .record("matmul", [a2, b2]) { g in
        // d(A·B) = G·Bᵀ, Aᵀ·G
        [a2.requiresGrad ? Tensor(shape: [m, k], data: gemm(g.data, false, b2.data, true, m, k, n)) : nil,
         b2.requiresGrad ? Tensor(shape: [k, n], data: gemm(a2.data, true, g.data, false, k, n, m)) : nil]
      }
    var s: [Int] = []
    if a.rank == 2 { s.append(m) }
    if b.rank == 2 { s.append(n) }
    return s == y.shape ? y : try y.reshaped(s)
  }
}

/// `op(A)·op(B)` for row-major arrays, result m×n.
func gemm(_ a: [Float], _ ta: Bool, _ b: [Float], _ tb: Bool, _ m: Int, _ n: Int, _ k: Int) -> [Float] {
  var c = [Float](repeating: 0, count: m * n)
  a.withUnsafeBufferPointer { pa in
    b.withUnsafeBufferPointer { pb in
      c.withUnsafeMutableBufferPointer { pc in
        sgemm(ta, tb, m, n, k, 1, pa.baseAddress!, ta ? m : k, pb.baseAddress!, tb ? k : n,
              0, pc.baseAddress!, n)
      }
    }
  }
  return c
}

/// What riad computes with on this machine, for `riad doctor` and `bench`.
public enum ComputeInfo {
  /// The OpenBLAS core in use (`Haswell`, `SkylakeX`, `Prescott`, …).
  public static var blasCore: String { BLASCore.current }
  /// OpenBLAS's build configuration line.
  public static var blasConfig: String {
    (openblas_get_config().map { String(cString: $0) } ?? "unknown").trimmingCharacters(in: .whitespaces)
  }
  /// The instruction set of riad's own convolution kernels, or why none.
  public static var kernelISA: String {
    let available = KernelVariant.available.map(\.rawValue).joined(separator: ", ")
    guard let v = kernelVariant else {
      return "none: convolutions by Winograd or im2col, both on OpenBLAS" + (available.isEmpty ? "" : " (available: \(available); RIAD_KERNELS chooses)")
    }
    return "\(v.isa) (riad's convolution kernels; this processor runs: \(available))"
  }
}
