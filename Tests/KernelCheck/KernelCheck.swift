/// The kernel check: riad's convolution kernels (Sources/RiadKernels)
/// against plain loops, built for one instruction set at a time.
///
/// `scripts/test --kernels` compiles this file together with the kernel
/// sources in Embedded Swift, which needs no Swift runtime or Foundation for
/// the target: for arm64 (`aarch64-none-none-elf`, NEON lanes, linked with
/// Debian's aarch64 C library and run under qemu-aarch64) and for x86-64
/// with AVX-512 and with AVX2 (run natively when the processor has them).
/// So the NEON variant, which this x86-64 machine cannot otherwise run, is
/// checked by the same program that checks the two variants the XCTest
/// suite also covers.
///
/// Every entry point of `SameConvolution` and `PositionConvolution` is
/// called as RiadTensor calls it, on shapes that reach the edges of its
/// contract (channel counts and tap counts that are odd, blocks of
/// positions that are not the first, `accumulate` on and off, weight
/// gradients with one, two and three sources left), and compared with a
/// double-precision sum of the same terms. The tolerance is relative to the
/// sum of the terms' magnitudes, 2e-6 per term counted (float32 rounding,
/// any order of summation).
@main
struct KernelCheck {
  static func main() {
    print("kernel check: \(KernelSupport.isa), \(lanes) lanes per vector")
    guard KernelSupport.isAvailable else {
      print("kernel check: this processor cannot run \(KernelSupport.isa); nothing checked")
      return
    }
    var check = Checker()
    check.sameForward()
    check.sameForwardRow()
    check.sameWeightGradient()
    check.positionForward()
    check.positionWeightGradient()
    print("kernel check: \(check.passed) passed, \(check.failed) failed")
    if check.failed > 0 { exitProcess(1) }  // the script and CI read the status
  }
}

@_extern(c, "exit")
func exitProcess(_ status: Int32)

/// Floats from a fixed linear congruential sequence, uniform in [-1, 1).
struct Numbers {
  var state: UInt64

  mutating func next() -> Float {
    state = state &* 6364136223846793005 &+ 1442695040888963407
    return Float(Int64(bitPattern: state >> 40) - (1 << 23)) / Float(1 << 23)
  }

  /// `count` fresh floats in memory the caller frees.
  mutating func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
    let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
    for i in 0..<count { p[i] = next() }
    return p
  }
}

/// A reference value: the double-precision sum of a kernel output's terms,
/// the sum of their magnitudes, and how many there are.
struct Exact {
  var sum = 0.0, magnitude = 0.0, terms = 0

  /// Starts from what the output held (kernels that add into it).
  init(adding start: Float = 0) {
    sum = Double(start); magnitude = abs(sum); terms = 1
  }

  mutating func add(_ a: Float, _ b: Float) {
    let term = Double(a) * Double(b)
    sum += term; magnitude += abs(term); terms += 1
  }
}

/// Counts checks and prints every failure.
struct Checker {
  var passed = 0, failed = 0
  var numbers = Numbers(state: 20211)

  /// Runs `kernel` on `out` (`rows` rows `stride` apart, filled with
  /// values beforehand) and compares each element where `written(row, col)`
  /// with `exact(row, col, before)`, within 2e-6 · terms · magnitude
  /// (+1e-6), `before` being the element's value before the call; every
  /// other element must keep its value. Prints the first few wrong ones.
  mutating func check(_ name: String, _ out: UnsafeMutablePointer<Float>, rows: Int, stride: Int,
                      written: (Int, Int) -> Bool, kernel: () -> Void, exact: (Int, Int, Float) -> Exact) {
    let count = rows * stride
    let before = UnsafeMutablePointer<Float>.allocate(capacity: count)
    before.update(from: out, count: count)
    defer { before.deallocate() }
    kernel()
    var failures = 0
    for row in 0..<rows {
      for col in 0..<stride {
        let index = row * stride + col
        if !written(row, col) {
          if out[index] != before[index] {
            if failures < 3 { print("  element \(index), outside the output, changed") }
            failures += 1
          }
          continue
        }
        let e = exact(row, col, before[index])
        let allowed = 2e-6 * Double(e.terms) * e.magnitude + 1e-6
        if !(abs(Double(out[index]) - e.sum) <= allowed) {
          if failures < 3 { print("  element \(index) is \(scaled(Double(out[index]))), expected \(scaled(e.sum))") }
          failures += 1
        }
      }
    }
    if failures == 0 {
      passed += 1
      print("ok    \(name)")
    } else {
      failed += 1
      print("FAIL  \(name): \(failures) elements wrong")
    }
  }

  /// `SameConvolution.forward`: eight output rows over planes, for a 3×3 and
  /// a 5×5 kernel on planes of width 13, the same taps for every channel and
  /// one set of taps per channel, with and without `accumulate`; and blocks
  /// of four or fewer real rows, where only those are written.
  mutating func sameForward() {
    let block = sameConvolutionPositionBlock, rows = sameConvolutionChannelBlock
    for (cin, k, perChannel, accumulate, real) in [(3, 3, false, false, 8), (5, 5, false, true, 8), (4, 3, true, true, 8),
                                                   (1, 3, true, false, 8), (7, 1, false, false, 8),
                                                   (3, 3, false, false, 3), (5, 5, true, true, 4), (2, 3, false, true, 2),
                                                   (4, 3, false, true, 1)] {
      let computed = real <= 4 ? real : rows
      let width = 13, taps = k * k
      let q0 = block, q1 = 4 * block          // a range that does not start at 0
      let offsetCount = perChannel ? cin * taps : taps
      let offsets = UnsafeMutablePointer<Int>.allocate(capacity: offsetCount)
      for i in 0..<offsetCount {
        let t = i % taps, shift = perChannel ? (i / taps) % 3 : 0
        offsets[i] = (t / k) * width + t % k + shift
      }
      let planeStride = q1 + (k + 1) * width + 3
      let src = numbers.buffer(cin * planeStride), w = numbers.buffer(cin * taps * rows)
      let dstStride = q1 + 5
      let dst = numbers.buffer(rows * dstStride)
      check("SameConvolution.forward: \(cin) channels, \(k)×\(k)\(perChannel ? ", taps per channel" : "")\(accumulate ? ", accumulating" : ""), \(real) real rows",
            dst, rows: rows, stride: dstStride, written: { j, q in j < computed && q >= q0 && q < q1 },
            kernel: {
              SameConvolution.forward(src: src, planeStride: planeStride, cin: cin,
                                      offsets: offsets, offsetStride: perChannel ? taps : 0, taps: taps,
                                      w: w, dst: dst, dstStride: dstStride, q0: q0, q1: q1, accumulate: accumulate,
                                      rows: real)
            },
            exact: { j, q, old in
              var e = accumulate ? Exact(adding: old) : Exact()
              for c in 0..<cin {
                for t in 0..<taps {
                  e.add(w[(c * taps + t) * rows + j], src[c * planeStride + q + offsets[(perChannel ? c * taps : 0) + t]])
                }
              }
              return e
            })
      offsets.deallocate(); src.deallocate(); w.deallocate(); dst.deallocate()
    }
  }

  /// `SameConvolution.forwardRow`: one output row, odd and even tap counts
  /// (the kernel takes taps two at a time), weights `wStride` apart.
  mutating func sameForwardRow() {
    let block = sameConvolutionPositionBlock
    for (cin, taps, wStride, accumulate) in [(3, 9, 1, false), (2, 4, 3, true), (5, 1, 2, false), (1, 25, 1, true)] {
      let width = 11, q1 = 3 * block
      let offsets = UnsafeMutablePointer<Int>.allocate(capacity: taps)
      for t in 0..<taps { offsets[t] = (t / 5) * width + t % 5 }
      let planeStride = q1 + 6 * width
      let src = numbers.buffer(cin * planeStride), w = numbers.buffer(cin * taps * wStride)
      let dst = numbers.buffer(q1 + 7)
      check("SameConvolution.forwardRow: \(cin) channels, \(taps) taps, weights \(wStride) apart\(accumulate ? ", accumulating" : "")",
            dst, rows: 1, stride: q1 + 7, written: { _, q in q < q1 },
            kernel: {
              SameConvolution.forwardRow(src: src, planeStride: planeStride, cin: cin, offsets: offsets, taps: taps,
                                         w: w, wStride: wStride, dst: dst, q0: 0, q1: q1, accumulate: accumulate)
            },
            exact: { _, q, old in
              var e = accumulate ? Exact(adding: old) : Exact()
              for c in 0..<cin {
                for t in 0..<taps { e.add(w[(c * taps + t) * wStride], src[c * planeStride + q + offsets[t]]) }
              }
              return e
            })
      offsets.deallocate(); src.deallocate(); w.deallocate(); dst.deallocate()
    }
  }

  /// `SameConvolution.weightGradient`: eight output channels against 1–7
  /// shifted sources (the last group of three has one, two or three), added
  /// into gradients that already hold values; with four or fewer real rows,
  /// only the rows `gradientRowsRead` names are added to (three for three
  /// real rows, whose pass takes six sources at a time on AVX-512 and NEON).
  mutating func sameWeightGradient() {
    for (count, q0, q1, real) in [(1, 0, 48, 8), (2, 16, 96, 8), (3, 0, 160, 8), (5, 32, 64, 8), (7, 0, 400, 8),
                                  (5, 16, 160, 3), (6, 0, 48, 3), (7, 0, 400, 3), (2, 32, 96, 3), (13, 16, 64, 3),
                                  (4, 0, 96, 4), (3, 0, 48, 2)] {
      let rows = sameConvolutionChannelBlock, computed = SameConvolution.gradientRowsRead(real)
      let planeLength = q1 + 40, gyStride = q1 + 3, dwStride = count + 2
      let plane = numbers.buffer(planeLength), gy = numbers.buffer(rows * gyStride)
      let sources = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: count)
      for i in 0..<count { sources[i] = UnsafePointer(plane + (i * 5) % 37) }
      let dw = numbers.buffer(rows * dwStride)
      check("SameConvolution.weightGradient: \(count) sources, positions \(q0)..<\(q1), \(real) real rows",
            dw, rows: rows, stride: dwStride, written: { j, i in j < computed && i < count },
            kernel: {
              SameConvolution.weightGradient(gy: gy, gyStride: gyStride, sources: sources, count: count,
                                             dw: dw, dwStride: dwStride, q0: q0, q1: q1, rows: real)
            },
            exact: { j, i, old in
              var e = Exact(adding: old)
              for q in q0..<q1 { e.add(gy[j * gyStride + q], sources[i][q]) }
              return e
            })
      plane.deallocate(); gy.deallocate(); sources.deallocate(); dw.deallocate()
    }
  }

  /// `PositionConvolution.forward`: six listed positions at a time × 64
  /// output channels, position-major input, positions out of order.
  mutating func positionForward() {
    let channels = positionConvolutionChannelBlock
    // The last two need more than one pass over the taps (positionConvolutionWeightBudget).
    for (cin, taps, count) in [(3, 9, 6), (17, 4, 12), (64, 1, 18), (1, 9, 6), (160, 5, 12), (600, 2, 6)] {
      let pixels = 40
      let offsets = UnsafeMutablePointer<Int>.allocate(capacity: taps)
      for t in 0..<taps { offsets[t] = (t / 3) * 7 + t % 3 }
      let positions = UnsafeMutablePointer<Int>.allocate(capacity: count)
      for p in 0..<count { positions[p] = (p * 11) % 23 }
      let src = numbers.buffer((pixels + 2 * 7 + 3) * cin), w = numbers.buffer(taps * cin * channels)
      let dstStride = channels + 3
      let dst = numbers.buffer(count * dstStride)
      check("PositionConvolution.forward: \(cin) channels, \(taps) taps, \(count) positions",
            dst, rows: count, stride: dstStride, written: { _, j in j < channels },
            kernel: {
              PositionConvolution.forward(src: src, cin: cin, offsets: offsets, taps: taps,
                                          positions: positions, count: count, w: w, dst: dst, dstStride: dstStride)
            },
            exact: { p, j, _ in
              var e = Exact()
              for t in 0..<taps {
                for c in 0..<cin { e.add(w[(t * cin + c) * channels + j], src[(positions[p] + offsets[t]) * cin + c]) }
              }
              return e
            })
      offsets.deallocate(); positions.deallocate(); src.deallocate(); w.deallocate(); dst.deallocate()
    }
  }

  /// `PositionConvolution.weightGradient`: six input channels from `c0` ×
  /// 64 output channels at one tap, added into gradients that hold values.
  mutating func positionWeightGradient() {
    let channels = positionConvolutionChannelBlock
    for (cin, c0, offset, count) in [(6, 0, 0, 1), (13, 6, 8, 30), (20, 12, 3, 7), (13, 12, 2, 9)] {
      let positions = UnsafeMutablePointer<Int>.allocate(capacity: count)
      for p in 0..<count { positions[p] = (p * 7) % 31 }
      let src = numbers.buffer((31 + offset) * cin + 6)
      let gyStride = channels + 1, dwStride = channels + 2
      let gy = numbers.buffer(count * gyStride), dw = numbers.buffer(6 * dwStride)
      check("PositionConvolution.weightGradient: channels \(c0)..<\(c0 + 6) from \(cin), \(count) positions",
            dw, rows: 6, stride: dwStride, written: { _, j in j < channels },
            kernel: {
              PositionConvolution.weightGradient(src: src, cin: cin, c0: c0, offset: offset, positions: positions, count: count,
                                                 gy: gy, gyStride: gyStride, dw: dw, dwStride: dwStride)
            },
            exact: { i, j, old in
              var e = Exact(adding: old)
              for p in 0..<count { e.add(src[(positions[p] + offset) * cin + c0 + i], gy[p * gyStride + j]) }
              return e
            })
      positions.deallocate(); src.deallocate(); gy.deallocate(); dw.deallocate()
    }
  }
}

/// `x` as text with six significant digits (Embedded Swift prints integers
/// and strings only): "-1.23456e-3".
func scaled(_ x: Double) -> String {
  if x == 0 { return "0" }
  if !x.isFinite { return x.isNaN ? "nan" : (x < 0 ? "-inf" : "inf") }
  var m = abs(x), e = 0
  while m >= 10 { m /= 10; e += 1 }
  while m < 1 { m *= 10; e -= 1 }
  let digits = Int((m * 100_000).rounded())
  let whole = digits / 100_000, fraction = digits % 100_000
  var tail = "\(fraction)"
  while tail.utf8.count < 5 { tail = "0" + tail }
  return (x < 0 ? "-" : "") + "\(whole).\(tail)e\(e)"
}
