import RiadBuiltins
import RiadLang
import RiadTensor
import RiadTestSupport
import XCTest

/// A session to run riad code in, with tensors bound by name and results
/// read back.
final class Harness {
  let session = Session()
  var printed: [String] = []

  init() { session.interpreter.output = { [unowned self] in self.printed.append($0) } }

  func bind(_ name: String, _ v: Value) { session.interpreter.globals.define(name, v) }
  func bind(_ name: String, _ t: Tensor) { bind(name, .tensor(t)) }
  func value(_ name: String) -> Value? { session.interpreter.globals.lookup(name) }

  /// Runs `code`; the value of its last expression statement, if any.
  @discardableResult
  func run(_ code: String) throws -> Value? {
    var last: Value? = nil
    try session.interpreter.run(SourceFile(name: "case", text: code)) { last = $0 }
    return last
  }

  /// The error message `code` stops with, or nil when it runs.
  func error(_ code: String) -> String? {
    do { try run(code); return nil } catch let e as ScriptError { return e.message } catch { return "\(error)" }
  }
}

/// A tensor or number result as a reference array (a number is rank 0).
func reference(_ v: Value?) -> RefArray? {
  switch v {
  case .tensor(let t)?: return RefArray(t)
  case .number(let x)?: return RefArray(scalar: x)
  case .bool(let b)?: return RefArray(scalar: b ? 1 : 0)
  default: return nil
  }
}

/// The test's own random source (SplitMix64), independent of riad's.
struct CaseGenerator {
  private var state: UInt64
  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(next() % UInt64(r.count)) }
  mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
  mutating func chance(_ p: Double) -> Bool { unit() < p }
  mutating func pick<T>(_ xs: [T]) -> T { xs[int(0...(xs.count - 1))] }

  /// Rank 0–`maxRank`, extents 0–5 (empty extents now and then).
  mutating func shape(maxRank: Int = 4, empty: Double = 0.08) -> [Int] {
    (0..<int(0...maxRank)).map { _ in chance(empty) ? 0 : int(1...5) }
  }

  /// Non-zero values: mostly in ±[0.25, 3] (exact in float32), sometimes
  /// small integers so that ties, exact quotients and equalities occur.
  mutating func values(_ n: Int) -> [Double] {
    (0..<n).map { _ in
      if chance(0.25) { return Double(pick([-3, -2, -1, 1, 2, 3])) }
      let magnitude = 0.25 + 2.75 * unit()
      return Double(Float((chance(0.5) ? -1 : 1) * magnitude))
    }
  }

  mutating func array(_ shape: [Int]) -> RefArray { RefArray(shape: shape, values: values(shape.reduce(1, *))) }

  /// A shape that broadcasts to `out`: leading dimensions dropped, some set to 1.
  mutating func broadcastable(to out: [Int]) -> [Int] {
    let drop = int(0...out.count)
    return out.dropFirst(drop).map { chance(0.3) ? 1 : $0 }
  }
}

/// Runs `body` for `count` cases, each with its own seed; a failure names
/// the seed, so that one case can be replayed.
func forEachCase(_ count: Int, seed: UInt64, file: StaticString = #filePath, line: UInt = #line,
                 _ body: (inout CaseGenerator) throws -> String?) {
  var failures = 0
  for i in 0..<count {
    let caseSeed = seed &* 1_000_003 &+ UInt64(i)
    var g = CaseGenerator(seed: caseSeed)
    let problem: String?
    do { problem = try body(&g) } catch { problem = "unexpected error: \(error)" }
    if let problem {
      XCTFail("case seed \(caseSeed): \(problem)", file: file, line: line)
      failures += 1
      if failures >= 5 { return }
    }
  }
}

extension Tensor {
  convenience init(_ r: RefArray) { self.init(shape: r.shape, data: r.values.map(Float.init)) }
}

extension Array where Element == Int {
  /// `[2, 3]` as riad source.
  var source: String { "[" + map(String.init).joined(separator: ", ") + "]" }
}
