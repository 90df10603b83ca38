import Foundation

/// Memory that riad's kernels write without zero-filling it first.
///
/// Skipping the zero fill is only right when the code that fills a buffer
/// writes every element before anything reads it. Each such buffer states
/// who writes every element where it is made (`makeFloats`' callers, the
/// convolution backends' promise to write every output, the scratch users). To check those
/// promises, set `RIAD_POISON_MEMORY=1` (the test script does, for a second
/// run of the numerical tests): every unfilled buffer then starts as NaN, so
/// an element nobody wrote turns every golden comparison it reaches into NaN.
public enum MemoryPoison {
  /// Whether unfilled buffers start as NaN (tests only: it costs a fill).
  nonisolated(unsafe) public static var isEnabled =
    ProcessInfo.processInfo.environment["RIAD_POISON_MEMORY"].map { $0 != "" && $0 != "0" } ?? false

  @inline(__always)
  static func poison(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
    if isEnabled { p.initialize(repeating: .nan, count: count) }
  }
}

/// An array of `n` floats that `fill` writes completely: skips the zero fill
/// that `[Float](repeating: 0, count:)` would do first. Invariant: `fill`
/// writes every one of the `n` elements (and reads none before writing it).
@inline(__always)
func makeFloats(_ n: Int, _ fill: (UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
  [Float](unsafeUninitializedCapacity: n) { buffer, count in
    if let base = buffer.baseAddress { MemoryPoison.poison(base, n) }
    fill(buffer)
    count = n
  }
}

/// Scratch memory that is not zero-filled. One grow-only buffer serves every
/// convolution (ops run one at a time), so large column matrices do not
/// fault in fresh pages from the kernel on every call. Invariant: `body`
/// writes every element it reads (it sees old data otherwise; NaN when
/// poisoned), and nothing keeps the pointer after `body` returns.
func withScratch<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
  if Scratch.capacity < count || Scratch.inUse {
    if Scratch.inUse {  // nested use: fall back to a private buffer
      let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
      defer { p.deallocate() }
      MemoryPoison.poison(p, count)
      return body(p)
    }
    Scratch.buffer?.deallocate()
    Scratch.capacity = max(count, 1)
    Scratch.buffer = UnsafeMutablePointer<Float>.allocate(capacity: Scratch.capacity)
  }
  Scratch.inUse = true
  defer { Scratch.inUse = false }
  MemoryPoison.poison(Scratch.buffer!, count)
  return body(Scratch.buffer!)
}

/// The shared scratch buffer; only the evaluator thread uses it (worker
/// threads write into slices of it inside one `body`).
enum Scratch {
  nonisolated(unsafe) static var buffer: UnsafeMutablePointer<Float>?
  nonisolated(unsafe) static var capacity = 0
  nonisolated(unsafe) static var inUse = false
}
