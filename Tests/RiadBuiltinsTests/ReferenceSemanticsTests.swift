import Foundation
import RiadBuiltins
import RiadLang
import RiadTensor
import RiadTestSupport
import XCTest

/// The language's tensor operations against `RefArray`, the plain-loop
/// reference, on thousands of random cases: random shapes of rank 0–4 with
/// extents 0–5, every broadcasting pattern, every dim, negative steps,
/// assignments of every value shape, and the cases that must be errors.
/// Each case runs real riad code; a failure prints its seed.
final class ReferenceSemanticsTests: RiadTestCase {
  /// A fresh session for each test; dropped in tearDown, because XCTest
  /// keeps every test case object alive until the process ends.
  var h: Harness!

  override func setUp() { h = Harness() }
  override func tearDown() { h = nil }

  /// What a binary operator means, element by element.
  static let binary: [(String, (Double, Double) -> Double)] = [
    ("+", { $0 + $1 }), ("-", { $0 - $1 }), ("*", { $0 * $1 }), ("/", { $0 / $1 }),
    ("%", referenceMod), ("^", { Foundation.pow($0, $1) }),
    ("==", { $0 == $1 ? 1 : 0 }), ("!=", { $0 != $1 ? 1 : 0 }), ("<", { $0 < $1 ? 1 : 0 }),
    ("<=", { $0 <= $1 ? 1 : 0 }), (">", { $0 > $1 ? 1 : 0 }), (">=", { $0 >= $1 ? 1 : 0 }),
  ]

  /// `a op b` for tensors of broadcasting (and now and then clashing)
  /// shapes, and for a tensor with a number on either side.
  func testBinaryOperatorsBroadcastLikeNumPy() throws {
    forEachCase(2000, seed: 1) { g in
      let out = g.shape()
      let sa = g.chance(0.9) ? g.broadcastable(to: out) : g.shape()
      let sb = g.chance(0.9) ? g.broadcastable(to: out) : g.shape()
      var a = g.array(sa), b = g.array(sb)
      let (op, f) = g.pick(Self.binary)
      let form = g.int(0...2)  // tensor op tensor, tensor op number, number op tensor
      if form == 1 { b = RefArray(scalar: b.values.first ?? 2) }
      if form == 2 { a = RefArray(scalar: a.values.first ?? 2) }
      h.bind("a", Tensor(a)); h.bind("b", Tensor(b))
      let code = form == 1 ? "a \(op) (\(b.values[0]))" : form == 2 ? "(\(a.values[0])) \(op) b" : "a \(op) b"
      guard let expected = RefArray.zip(a, b, f) else {
        return h.error(code) == nil ? "\(code) with \(sa) and \(sb) should be an error" : nil
      }
      let got = try reference(h.run(code))
      return check(got, expected, code, atol: 1e-5, rtol: 2e-6)
    }
  }

  /// Elementwise functions, unary minus and clamp.
  func testElementwiseFunctions() throws {
    let functions: [(String, (Double) -> Double)] = [
      ("abs", abs), ("floor", { $0.rounded(.down) }), ("ceil", { $0.rounded(.up) }),
      ("round", { $0.rounded(.toNearestOrEven) }), ("sqrt", { $0.squareRoot() }), ("exp", Foundation.exp),
      ("log", Foundation.log), ("relu", { $0 < 0 ? 0 : $0 }), ("sigmoid", { 1 / (1 + Foundation.exp(-$0)) }),
      ("tanh", Foundation.tanh), ("-", { -$0 }),
    ]
    forEachCase(800, seed: 2) { g in
      let shape = g.shape(), x = g.array(shape)
      h.bind("x", Tensor(x))
      if g.chance(0.2) {
        let lo = Double(g.int(-2...1)), hi = lo + Double(g.int(-1...3))
        let expected = x.map { v in let c = v < lo ? lo : v; return c > hi ? hi : c }
        return check(try reference(h.run("clamp(x, \(lo), \(hi))")), expected, "clamp(x, \(lo), \(hi))")
      }
      let (name, f) = g.pick(functions)
      let code = name == "-" ? "-x" : "\(name)(x)"
      return check(try reference(h.run(code)), x.map(f), code, atol: 1e-6, rtol: 2e-6)
    }
  }

  /// sum, mean, max, min, argmax, argmin over everything and over each dim
  /// (negative dims too); empty tensors: sums are 0, means NaN, the rest errors.
  func testReductions() throws {
    let reductions: [(String, ([Double]) -> Double, Bool)] = [   // name, lane → value, defined when empty
      ("sum", { $0.reduce(0, +) }, true), ("mean", { $0.reduce(0, +) / Double($0.count) }, true),
      ("max", RefArray.maxOf, false), ("min", RefArray.minOf, false),
      ("argmax", RefArray.argmaxOf, false), ("argmin", RefArray.argminOf, false),
    ]
    forEachCase(1200, seed: 3) { g in
      let shape = g.shape(), x = g.array(shape)
      h.bind("x", Tensor(x))
      let (name, f, emptyOK) = g.pick(reductions)
      let dim: Int? = shape.isEmpty || g.chance(0.3) ? nil : g.int(-shape.count...(shape.count - 1))
      let code = dim.map { "\(name)(x, dim: \($0))" } ?? "\(name)(x)"
      let d = dim.map { $0 < 0 ? $0 + shape.count : $0 }
      let laneEmpty = d.map { shape[$0] == 0 } ?? (x.count == 0)
      if laneEmpty && !emptyOK { return h.error(code) == nil ? "\(code) of \(shape) should be an error" : nil }
      if let d, !emptyOK, x.count == 0 {
        // Lanes exist but there are none of them (another extent is 0): an empty result.
        var s = shape; s.remove(at: d)
        return check(try reference(h.run(code)), RefArray(shape: s, values: []), code)
      }
      return check(try reference(h.run(code)), x.reduce(dim: d, f), code, atol: 1e-5, rtol: 1e-5)
    }
  }

  /// Reads with integers (negative too), slices with every sign of step,
  /// bounds past either end, fewer subscripts than dimensions, and the
  /// out-of-range and too-many cases that must be errors.
  func testIndexingReads() throws {
    forEachCase(2000, seed: 4) { g in
      let shape = g.shape(), x = g.array(shape)
      h.bind("x", Tensor(x))
      let subs = randomSubscripts(&g, shape)
      let code = "x[\(subs.map(\.description).joined(separator: ", "))]"
      guard let expected = x.indexed(subs) else { return h.error(code) == nil ? "\(code) of \(shape) should be an error" : nil }
      return check(try reference(h.run(code)), expected, code)
    }
  }

  /// `x[subs] = v` and `x[subs] += v` with a number, a value of the
  /// selection's shape, one that broadcasts, one with extra leading ones,
  /// and one that fits nowhere (an error that leaves x unchanged).
  func testIndexAssignment() throws {
    forEachCase(2000, seed: 5) { g in
      let shape = g.shape(), x = g.array(shape)
      h.bind("x", Tensor(x))
      let subs = randomSubscripts(&g, shape, tooMany: 0.03)
      let target = "x[\(subs.map(\.description).joined(separator: ", "))]"
      let selection = x.indexed(subs)?.shape
      var value: RefArray
      switch g.int(0...4) {
      case 0: value = RefArray(scalar: g.values(1)[0])
      case 1: value = g.array(selection ?? g.shape())
      case 2: value = g.array(g.broadcastable(to: selection ?? g.shape()))
      case 3: value = g.array([Int](repeating: 1, count: g.int(1...2)) + (selection ?? []))
      default: value = g.array(g.shape())
      }
      let compound = g.chance(0.25)
      let code = value.rank == 0 && g.chance(0.5) ? "\(target) \(compound ? "+=" : "=") (\(value.values[0]))"
                                                   : "\(target) \(compound ? "+=" : "=") v"
      h.bind("v", Tensor(value))
      var expected = x
      let valid: Bool
      if compound {
        if let old = x.indexed(subs), let sum = RefArray.zip(old, value, +) { valid = expected.assign(subs, sum) } else { valid = false }
      } else {
        valid = expected.assign(subs, value)
      }
      if !valid {
        guard h.error(code) != nil else { return "\(code) (x \(shape), v \(value.shape)) should be an error" }
        return check(reference(h.value("x")), x, "x after the failed \(code)")
      }
      try h.run(code)
      return check(reference(h.value("x")), expected, code)
    }
  }

  /// Chains of reshape (with -1), permute, cat, stack and slicing.
  func testShapeChains() throws {
    forEachCase(600, seed: 6) { g in
      var x = g.array(g.shape(maxRank: 3, empty: 0.05))
      h.bind("x", Tensor(x))
      var code = "x"
      for _ in 0..<g.int(1...4) {
        switch g.int(0...4) {
        case 0:  // reshape, maybe with -1
          var s = factorization(&g, x.count)
          if !s.isEmpty && g.chance(0.5) && x.count > 0 { s[g.int(0...(s.count - 1))] = -1 }
          code = "reshape(\(code), \(s.source))"
          let known = s.filter { $0 != -1 }.reduce(1, *)
          x = x.reshaped(s.map { $0 == -1 ? x.count / known : $0 })
        case 1 where x.rank > 0:
          let order = Array(0..<x.rank).shuffled(using: &g)
          code = "permute(\(code), \(order.source))"
          x = x.permuted(order)
        case 2 where x.rank > 0:
          let d = g.int(0...(x.rank - 1))
          code = "cat([\(code), \(code)], dim: \(d))"
          x = RefArray.cat([x, x], dim: d)
        case 3:
          let d = g.int(0...x.rank)
          code = "stack([\(code), \(code) * 2], dim: \(d))"
          x = RefArray.stack([x, x.map { $0 * 2 }], dim: d)
        default:
          let subs = randomSubscripts(&g, x.shape, tooMany: 0, outOfRange: 0)
          guard let y = x.indexed(subs), y.rank > 0 else { continue }
          code = "(\(code))[\(subs.map(\.description).joined(separator: ", "))]"
          x = y
        }
      }
      return check(try reference(h.run(code)), x, code)
    }
  }

  /// avg_pool2d (padding counted), max_pool2d, upsample (size or scale,
  /// nearest or bilinear) and mean_filter on random [N,C,H,W].
  func testPoolingResamplingAndFilters() throws {
    forEachCase(600, seed: 7) { g in
      let shape = [g.int(1...2), g.int(1...3), g.int(1...6), g.int(1...6)]
      let x = g.array(shape)
      h.bind("x", Tensor(x))
      let (hh, ww) = (shape[2], shape[3])
      switch g.int(0...3) {
      case 0:
        let k = g.int(1...4), s = g.int(1...3), p = g.int(0...2)
        let code = "avg_pool2d(x, \(k), stride: \(s), padding: \(p))"
        guard 2 * p <= k, hh + 2 * p >= k, ww + 2 * p >= k else { return h.error(code) == nil ? "\(code) on \(shape) should be an error" : nil }
        return check(try reference(h.run(code)), x.avgPool(k, stride: s, padding: p), code, atol: 1e-6, rtol: 1e-5)
      case 1:
        let k = g.int(1...4), s = g.int(1...3)
        let code = "max_pool2d(x, \(k), stride: \(s))"
        guard hh >= k, ww >= k else { return h.error(code) == nil ? "\(code) on \(shape) should be an error" : nil }
        return check(try reference(h.run(code)), x.maxPool(k, stride: s), code)
      case 2:
        let mode = g.pick(["nearest", "bilinear"])
        if g.chance(0.5) {
          let oh = g.int(1...9), ow = g.int(1...9)
          let code = "upsample(x, size: [\(oh), \(ow)], mode: \"\(mode)\")"
          return check(try reference(h.run(code)), x.upsample(oh, ow, mode: mode), code, atol: 1e-5, rtol: 1e-5)
        }
        let f = g.pick([0.5, 1.5, 2, 2.5, 3])
        let (oh, ow) = (Int((Double(hh) * f).rounded(.down)), Int((Double(ww) * f).rounded(.down)))
        let code = "upsample(x, scale: \(f), mode: \"\(mode)\")"
        guard oh > 0, ow > 0 else { return h.error(code) == nil ? "\(code) on \(shape) should be an error" : nil }
        return check(try reference(h.run(code)), x.upsample(oh, ow, mode: mode, scaleFactor: f), code, atol: 1e-5, rtol: 1e-5)
      default:
        let size = g.pick([1, 3, 5, 7])
        let code = "mean_filter(x, \(size))"
        return check(try reference(h.run(code)), x.meanFilter(size), code, atol: 1e-5, rtol: 1e-5)
      }
    }
  }

  /// Matrix products, with 1-D operands as row and column vectors.
  func testMatmul() throws {
    forEachCase(300, seed: 8) { g in
      let (m, k, n) = (g.int(1...5), g.int(1...5), g.int(1...5))
      let a = g.array([m, k]), b = g.array([k, n])
      h.bind("a", Tensor(a)); h.bind("b", Tensor(b))
      let expected = RefArray.matmul(a, b)
      if g.chance(0.3) {
        let v = g.array([k, 1])
        h.bind("v", Tensor(v.reshaped([k])))
        return check(try reference(h.run("a @ v")), RefArray.matmul(a, v).reshaped([m]), "a @ v", atol: 1e-5, rtol: 1e-5)
      }
      return check(try reference(h.run("a @ b")), expected, "a @ b", atol: 1e-5, rtol: 1e-5)
    }
  }

  /// NaN and infinity: every operator and reduction propagates NaN as NumPy
  /// and PyTorch do; comparisons with NaN are false (except !=); 1/0 is inf.
  func testNaNAndInfinity() throws {
    let specials: [Double] = [.nan, .infinity, -.infinity, 0, -0.0]
    forEachCase(1500, seed: 9) { g in
      let shape = [g.int(1...4), g.int(1...4)]
      var a = g.array(shape), b = g.array(g.broadcastable(to: shape))
      for i in a.values.indices where g.chance(0.3) { a.values[i] = g.pick(specials) }
      for i in b.values.indices where g.chance(0.3) { b.values[i] = g.pick(specials) }
      h.bind("a", Tensor(a)); h.bind("b", Tensor(b))
      switch g.int(0...5) {
      case 0:
        let (op, f) = g.pick(Self.binary)
        return check(try reference(h.run("a \(op) b")), RefArray.zip(a, b, f)!, "a \(op) b", atol: 1e-5, rtol: 2e-6)
      case 1:
        let maximum: (Double, Double) -> Double = { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }
        let minimum: (Double, Double) -> Double = { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }
        let (name, f) = g.pick([("maximum", maximum), ("minimum", minimum)])
        return check(try reference(h.run("\(name)(a, b)")), RefArray.zip(a, b, f)!, "\(name)(a, b)")
      case 2:
        let dim: Int? = g.chance(0.4) ? nil : g.int(0...1)
        let sum: ([Double]) -> Double = { $0.reduce(0, +) }
        let mean: ([Double]) -> Double = { $0.reduce(0, +) / Double($0.count) }
        let reductions: [(String, ([Double]) -> Double)] = [
          ("max", RefArray.maxOf), ("min", RefArray.minOf), ("argmax", RefArray.argmaxOf),
          ("argmin", RefArray.argminOf), ("sum", sum), ("mean", mean),
        ]
        let (name, f) = g.pick(reductions)
        let code = dim.map { "\(name)(a, dim: \($0))" } ?? "\(name)(a)"
        return check(try reference(h.run(code)), a.reduce(dim: dim, f), code, atol: 1e-5, rtol: 1e-5)
      case 3:
        let functions: [(String, (Double) -> Double)] = [
          ("relu", { $0 < 0 ? 0 : $0 }), ("abs", { abs($0) }), ("sqrt", { $0.squareRoot() }),
          ("log", Foundation.log), ("exp", Foundation.exp), ("floor", { $0.rounded(.down) }),
        ]
        let (name, f) = g.pick(functions)
        return check(try reference(h.run("\(name)(a)")), a.map(f), "\(name)(a)", atol: 1e-6, rtol: 2e-6)
      case 4:
        let code = "clamp(a, -1, 1)"
        return check(try reference(h.run(code)), a.map { v in let c = v < -1 ? -1 : v; return c > 1 ? 1 : c }, code)
      default:
        let x = a.reshaped([1, 1] + shape)
        h.bind("x", Tensor(x))
        let k = g.int(1...min(shape[0], shape[1]))
        return check(try reference(h.run("max_pool2d(x, \(k), stride: 1)")), x.maxPool(k, stride: 1), "max_pool2d")
      }
    }
  }

  // MARK: - Helpers

  /// Subscripts for `shape`: up to one per dimension (now and then one too
  /// many), integers in and a little out of range, slices with bounds past
  /// either end and steps of either sign.
  func randomSubscripts(_ g: inout CaseGenerator, _ shape: [Int], tooMany: Double = 0.03,
                        outOfRange: Double = 0.05) -> [RefArray.Sub] {
    // At least one: riad has no empty subscript (NumPy's x[()]).
    let count = g.chance(tooMany) || shape.isEmpty ? shape.count + 1 : g.int(1...shape.count)
    return (0..<count).map { d in
      let n = d < shape.count ? shape[d] : 1
      if g.chance(0.4) {
        if g.chance(outOfRange) { return .at(g.chance(0.5) ? n + g.int(0...2) : -n - 1 - g.int(0...2)) }
        return n == 0 ? .at(0) : .at(g.int(-n...(n - 1)))
      }
      func bound() -> Int? { g.chance(0.3) ? nil : g.int(-7...7) }
      return .slice(bound(), bound(), g.pick([1, 1, 1, 2, 3, -1, -1, -2, -3]))
    }
  }

  /// A random shape with `count` elements.
  func factorization(_ g: inout CaseGenerator, _ count: Int) -> [Int] {
    if count == 0 { return g.pick([[0], [0, 3], [2, 0]]) }
    var rest = count, s: [Int] = []
    while rest > 1 {
      let divisors = (2...rest).filter { rest % $0 == 0 }
      let d = g.pick(divisors)
      s.append(d); rest /= d
      if g.chance(0.2) { s.append(1) }
    }
    return s.isEmpty || g.chance(0.2) ? s + [1] : s
  }

  func check(_ got: RefArray?, _ expected: RefArray, _ code: String, atol: Double = 1e-6, rtol: Double = 1e-6) -> String? {
    guard let got else { return "\(code): no tensor or number came back" }
    guard got.shape == expected.shape else { return "\(code): shape \(got.shape), expected \(expected.shape)" }
    for i in 0..<expected.count where !referenceClose(got.values[i], expected.values[i], atol: atol, rtol: rtol) {
      return "\(code): element \(i) is \(got.values[i]), expected \(expected.values[i])"
    }
    return nil
  }
}

extension CaseGenerator: RandomNumberGenerator {}
