import Dispatch

/// The number of worker threads riad's own loops use (`--threads`).
nonisolated(unsafe) public var workerThreads: Int = {
  let cores = ProcessInfoCores.active
  return max(1, cores)
}()

enum ProcessInfoCores {
  static var active: Int {
    #if canImport(Glibc)
    return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    #else
    return 1
    #endif
  }
}
#if canImport(Glibc)
import Glibc
#endif

/// Runs `body(i)` for `i` in `0..<count`, spread over the worker threads
/// when the work is large enough to pay for it (`cost` is a rough count of
/// scalar operations per item).
@inline(__always)
func parallelFor(_ count: Int, cost: Int = 1 << 16, _ body: (Int) -> Void) {
  let threads = workerThreads
  if threads <= 1 || count <= 1 || count * cost < 1 << 15 {
    for i in 0..<count { body(i) }
    return
  }
  withoutActuallyEscaping(body) { body in
    let chunks = min(count, threads * 4)
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
      let lo = count * c / chunks, hi = count * (c + 1) / chunks
      for i in lo..<hi { body(i) }
    }
  }
}


/// An array of `n` floats that `fill` writes completely: skips the zero fill
/// that `[Float](repeating: 0, count:)` would do first.
@inline(__always)
func makeFloats(_ n: Int, _ fill: (UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
  [Float](unsafeUninitializedCapacity: n) { buffer, count in
    fill(buffer)
    count = n
  }
}
