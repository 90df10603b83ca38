import Foundation
import RiadBuiltins
import RiadLang
import RiadTensor
import RiadTestSupport
import XCTest

/// The minimal reproductions of the silent wrong values a differential check
/// against NumPy and PyTorch found (issue 10), each with the answer those
/// libraries give, and the value model's edges.
final class LanguageSemanticsTests: RiadTestCase {
  var h: Harness!
  override func setUp() { h = Harness() }
  override func tearDown() { h = nil }

  /// The values of a tensor result, or of a number.
  func values(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> [Float] {
    do {
      switch try h.run(code) {
      case .tensor(let t)?: return t.data
      case .number(let x)?: return [Float(x)]
      case let v: XCTFail("\(code) gave \(v.map { Format.repr($0) } ?? "nothing")", file: file, line: line); return []
      }
    } catch { XCTFail("\(code): \(error)", file: file, line: line); return [] }
  }

  /// 1. A scalar written into a selection of several elements fills all of them.
  func testScalarAssignedToASelectionFillsEveryElement() {
    XCTAssertEqual(values("b = zeros([2, 4]); b[0] = 7; b"), [7, 7, 7, 7, 0, 0, 0, 0])
    XCTAssertEqual(values("t = ones([6]); t[1:4] = 0; t"), [1, 0, 0, 0, 1, 1])
    XCTAssertEqual(values("img = zeros([3, 4, 4]); img[:, 1:3, 1:3] = 1; sum(img)"), [12])
    XCTAssertEqual(values("t = ones([4]); t[::2] = tensor(5); t[1:] = item(tensor([2])); t"), [5, 2, 2, 2])
    XCTAssertEqual(values("t = zeros([3]); t[:] = sum(tensor([1, 2])); t"), [3, 3, 3])
  }

  /// 2. Tensor `%` is Python's (np.mod, torch.remainder), and so is its gradient.
  func testModuloTakesTheSignOfTheDivisor() {
    XCTAssertEqual(values("tensor([5, 6, 7, 8]) % 4"), [1, 2, 3, 0])
    XCTAssertEqual(values("tensor([7, -7]) % -3"), [-2, -1])
    XCTAssertEqual(values("tensor([-7, 7]) % 3"), [2, 1])
    XCTAssertEqual(values("7 % tensor([-3, 3])"), [-2, 1])
    XCTAssertTrue(values("tensor([1]) % 0")[0].isNaN)
    // d(a mod b)/da = 1, d/db = -floor(a/b): -floor(7/2) = -3 (torch.remainder)
    XCTAssertEqual(values("a = param(tensor([7])); b = param(tensor([2])); backward(sum(a % b)); cat([grad(a), grad(b)])"), [1, -3])
  }

  /// 3. max and min of a whole tensor keep the gradient; ties share it evenly (PyTorch).
  func testWholeTensorMaxAndMinKeepTheGradient() {
    XCTAssertEqual(values("w = param(tensor([1, 3, 2])); backward(sum(w) + max(w)); grad(w)"), [1, 2, 1])
    XCTAssertEqual(values("w = param(tensor([1, 3, 2])); backward(max(w)); grad(w)"), [0, 1, 0])
    XCTAssertEqual(values("w = param(tensor([4, 1, 4])); backward(min(w) + max(w)); grad(w)"), [0.5, 1, 0.5])
    XCTAssertEqual(values("max(tensor([1, 3, 2]))"), [3], "without parameters it is still a number")
  }

  /// 4. Index assignment takes part in autograd; a write into something a
  /// recorded rule still needs stops backward with an error, never a wrong gradient.
  func testGradientsFlowThroughIndexAssignment() throws {
    XCTAssertEqual(values("w = param(tensor([1, 2])); y = w * 1; y[0] = 0; backward(sum(y * 3)); grad(w)"), [0, 3])
    // The value written gets the gradient of the places it went to.
    XCTAssertEqual(values("w = param(tensor([2])); y = zeros([3]); y[1:] = w * 5; backward(sum(y)); grad(w)"), [10])
    // Gradients recorded before the write still reach their inputs.
    XCTAssertEqual(values("w = param(tensor([1, 2])); y = w * 1; z = y + 1; y[0] = 9; backward(sum(z) + sum(y)); grad(w)"), [1, 2])
    // mul reads y, which was overwritten after it ran: an error, as PyTorch's.
    let message = h.error("w = param(tensor([1, 2])); y = w * 2; z = y * y; y[0] = 0; backward(sum(z))") ?? ""
    XCTAssertTrue(message.contains("overwritten in place"), message)
    XCTAssertNil(try h.run("grad(w)").flatMap { $0.isNil ? nil : $0 }, "a refused backward leaves no gradient")
    // % reads both operands for the divisor's gradient, −⌊a/b⌋: a write to
    // the dividend after it ran is refused too (it once gave −⌊100/3⌋ here).
    XCTAssertEqual(values("b = param(tensor([3, 2])); x = tensor([5, 7]) * 1; backward(sum(x % b)); grad(b)"), [-1, -3])
    let mod = h.error("b = param(tensor([3, 2])); x = param(tensor([5, 7])) * 1; y = x % b; x[0] = 100; backward(sum(y))") ?? ""
    XCTAssertTrue(mod.contains("overwritten in place"), mod)
    // Without a gradient for the divisor the rule reads nothing: the write is fine.
    XCTAssertEqual(values("a = param(tensor([5, 7])); x = a * 1; y = x % 3; x[0] = 100; backward(sum(y)); grad(a)"), [1, 1])
    // A parameter may be edited with plain values; a value computed from parameters may not go into one.
    XCTAssertEqual(values("w = param(zeros([3])); w[1] = 5; backward(sum(w * w)); grad(w)"), [0, 10, 0])
    XCTAssertNotNil(h.error("v = param(ones([1])); w = param(zeros([3])); w[0] = v * 2"))
    // An optimizer step changes the parameters: an old loss cannot be used again.
    let stale = h.error("w = param(tensor([1])); opt = sgd([w], lr: 0.1); l = sum(w * w); backward(l); step(opt); backward(l)") ?? ""
    XCTAssertTrue(stale.contains("overwritten in place"), stale)
  }

  /// 5. NaN propagates through max, argmax, relu and pooling (NumPy, PyTorch).
  func testNaNPropagates() {
    XCTAssertTrue(values("max(tensor([1, 0/0, 3]))")[0].isNaN)
    XCTAssertTrue(values("min(tensor([1, 0/0, 3]))")[0].isNaN)
    XCTAssertEqual(values("argmax(tensor([1, 0/0, 3]))"), [1])
    XCTAssertTrue(values("relu(tensor([0/0]))")[0].isNaN)
    XCTAssertTrue(values("max_pool2d(reshape(tensor([1, 0/0, 2, 3]), [1, 1, 2, 2]), 2)")[0].isNaN)
    XCTAssertTrue(values("maximum(tensor([0/0]), 1)")[0].isNaN)
    XCTAssertTrue(values("clamp(tensor([0/0]), 0, 1)")[0].isNaN)
    XCTAssertEqual(values("max(tensor([[1, 0/0], [2, 3]]), dim: 0)").map(\.isNaN), [false, true])
    XCTAssertTrue(try XCTUnwrap(h.run("tensor([1, 0/0])")).isTensorSummary(containing: "(1 nan)"))
  }

  /// 6. Extra leading ones in an assigned value, the mean of nothing, and 0 ^ w.
  func testNumPyEdgeCases() {
    XCTAssertEqual(values("b = zeros([2, 4]); b[0] = tensor([[1, 2, 3, 4]]); b[0]"), [1, 2, 3, 4])
    XCTAssertEqual(values("b = zeros([2, 2]); b[:, 0] = tensor([[[5, 6]]]); b"), [5, 0, 6, 0])
    XCTAssertTrue(values("mean(zeros([0, 2]))")[0].isNaN)
    XCTAssertEqual(values("mean(zeros([0, 2]), dim: 0)").map(\.isNaN), [true, true])
    XCTAssertEqual(values("w = param(tensor([2])); backward(sum(0 ^ w)); grad(w)"), [0])
    XCTAssertEqual(values("a = param(tensor([0])); backward(sum(a ^ 0)); grad(a)"), [0])
  }

  /// 7. An assignment into a copy is an error that says what to write.
  func testAssignmentIntoACopyIsAnError() {
    let message = h.error("b = zeros([2, 3]); b[0][1] = 9") ?? ""
    XCTAssertTrue(message.contains("b[0] is a new tensor"), message)
    XCTAssertTrue(message.contains("write b[0, 1] = 9 instead"), message)
    XCTAssertEqual(values("b"), [0, 0, 0, 0, 0, 0])
    XCTAssertNotNil(h.error("b[:, 0][1] = 9"))
    XCTAssertNotNil(h.error("(b * 2)[0] = 1"))
    // Lists and records hold tensors by reference: writing through them works.
    XCTAssertEqual(values("l = [zeros([2])]; l[0][1] = 3; l[0]"), [0, 3])
    XCTAssertEqual(values("r = {t: zeros([2])}; r.t[0] = 4; r[\"t\"]"), [4, 0])
    // Names share a tensor; indexing, reshape and detach copy.
    XCTAssertEqual(values("a = zeros([2]); c = a; c[0] = 1; a"), [1, 0])
    XCTAssertEqual(values("a = zeros([2]); c = reshape(a, [2]); c[0] = 1; a"), [0, 0])
  }

  /// 8. A function defined inside a function no longer keeps its scope alive
  /// for ever: the scope (and its tensors) go when nothing can reach them.
  func testNestedFunctionScopesAreFreed() throws {
    weak var big: Tensor?
    try h.run("""
      fn make() { big = zeros([1000]); fn g() { big }; g }
      f = make()
      kept = f()
      """)
    if case .tensor(let t)? = h.value("kept") { big = t }
    XCTAssertNotNil(big)
    try h.run("kept = nil")
    XCTAssertNotNil(big, "f still reaches the scope")
    try h.run("f = nil")
    XCTAssertNil(big, "the scope of make() was not freed")
    // Anonymous functions stored in their own scope, and recursion through the name.
    try h.run("""
      fn counter() { n = 0; step = fn() { n += 1; n }; fn twice() { step(); step() }; twice }
      c = counter()
      """)
    XCTAssertEqual(values("c(); c()"), [4])
    XCTAssertEqual(values("fn fact(n) { if n <= 1 { return 1 }; n * fact(n - 1) }; fact(6)"), [720])
    // A list and a record of functions kept in the functions' own scope: a
    // cycle through containers, which the cycle collector frees.
    weak var held: Tensor?
    try h.run("""
      fn hold() { big = zeros([100]); fs = [fn() { big }]; r = {fs: fs, me: fn() { r }}; fs }
      kept = hold()
      t = kept[0]()
      """)
    if case .tensor(let t)? = h.value("t") { held = t }
    try h.run("t = nil")
    XCTAssertNotNil(held, "the returned list still reaches the scope")
    try h.run("kept = nil")
    CycleCollector.collect()
    XCTAssertNil(held, "a scope kept alive only by a cycle through a list and a record was not freed")
    // Each read of a function hands out a new closure object: still the same function.
    guard case .bool(true)? = try h.run("fn outer() { fn inner() { 1 }; inner == inner }; outer()") else {
      return XCTFail("a function is not equal to itself")
    }
  }

  /// The deepest program the parser accepts, 199 calls deep, fits the
  /// evaluator's stack (the budget EvaluatorStack documents). Run under
  /// AddressSanitizer, whose frames are the largest, this checks the budget.
  func testDeepestProgramFitsTheStack() throws {
    for wrap in ["(1 + %@)", "[%@][0]", "abs(%@)", "-(%@)", "{a: %@}.a", "if true { %@ } else { 0 }"] {
      func definition(_ depth: Int) -> String {
        var inner = "f(n - 1)"
        for _ in 0..<depth { inner = wrap.replacingOccurrences(of: "%@", with: inner) }
        return "fn f(n) { if n == 0 { return 0 }; \(inner) }"
      }
      // The deepest nesting the parser takes for this construct.
      var depth = 1
      while h.error(definition(depth + 1)) == nil { depth += 1 }
      let program = definition(depth) + "\nf(\(Interpreter.maxCallDepth - 1))"
      XCTAssertNil(h.error(program), "\(wrap) nested \(depth) deep in \(Interpreter.maxCallDepth - 1) calls")
      XCTAssertTrue((h.error("fn f(n) { f(n + 1) }; f(0)") ?? "").contains("more than \(Interpreter.maxCallDepth) nested calls"))
    }
  }
}

extension Value {
  func isTensorSummary(containing text: String) -> Bool { Format.repr(self).contains(text) }
}

/// Newcomer mistakes get messages that say what to write instead.
final class NewcomerMessageTests: RiadTestCase {
  func testMistakesAreAnsweredWithWhatToWrite() {
    let h = Harness()
    let cases: [(String, String)] = [
      ("for i in 0..3 { }", "'..' is not a range: write 0..<3 (up to 3, without it) or 0...3 (with it)"),
      ("g = synthetic(kind: 'grid')", "strings use double quotes: write \"grid\""),
      ("net = unet(base: 2, depth: 2); net.train()", "PyTorch's net.train() only switches to training mode, which here is train_mode(net)"),
      ("exit()", "to leave riad, type :quit or press Ctrl-D"),
      ("net = unet(base: 2, depth: 3); anomaly_map(net, rand([2, 16, 16]))",
       "bad argument 'x' to 'anomaly_map': the model takes images of 3 channels, got 2 (tensor [2, 16, 16])"),
      ("b = zeros([2, 2]); b[0][1] = 1", "write b[0, 1] = 1 instead"),
    ]
    for (code, message) in cases {
      let got = h.error(code) ?? "no error"
      XCTAssertTrue(got.contains(message), "\(code):\n\(got)")
      XCTAssertFalse(got.contains("Did you mean 'exists'"), code)
    }
  }
}
