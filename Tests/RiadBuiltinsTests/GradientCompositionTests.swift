import Foundation
import RiadBuiltins
import RiadLang
import RiadTensor
import RiadTestSupport
import XCTest

/// Random compositions of differentiable operations, written as riad
/// programs, differentiated by riad's autograd and by central finite
/// differences of the same composition evaluated in double precision by the
/// plain-loop reference. Index assignments take part, so gradients through
/// writes are checked too.
final class GradientCompositionTests: RiadTestCase {
  /// One generated expression: its riad text, its shape, and its value as a
  /// function of the parameter, computed by the reference.
  struct Node {
    let code: String
    let shape: [Int]
    let eval: (RefArray) -> RefArray
  }

  /// Builds a program around one parameter `w`: constants it binds, and
  /// statements (for index assignments) that come before the final expression.
  final class Builder {
    var g: CaseGenerator
    let w: Node
    var constants: [(String, RefArray)] = []
    var statements: [String] = []
    var steps: [(String, (RefArray) -> RefArray)] = []   // reference for statement variables
    var counter = 0

    init(_ g: CaseGenerator, _ wShape: [Int]) {
      self.g = g
      w = Node(code: "w", shape: wShape) { $0 }
    }

    func constant(_ shape: [Int]) -> Node {
      let value = g.array(shape), name = "c\(constants.count)"
      constants.append((name, value))
      return Node(code: name, shape: shape) { _ in value }
    }

    func unary(_ x: Node, _ code: (String) -> String, _ f: @escaping (Double) -> Double) -> Node {
      Node(code: code(x.code), shape: x.shape) { x.eval($0).map(f) }
    }

    func binary(_ x: Node, _ y: Node, _ code: String, _ f: @escaping (Double, Double) -> Double) -> Node? {
      guard let shape = RefArray.broadcastShape(x.shape, y.shape) else { return nil }
      return Node(code: code, shape: shape) { RefArray.zip(x.eval($0), y.eval($0), f)! }
    }

    /// A random expression of bounded depth that depends on w.
    func node(_ depth: Int) -> Node {
      if depth == 0 { return w }
      let x = node(depth - 1)
      let s = x.shape
      switch g.int(0...19) {
      case 0: return unary(x, { "tanh(\($0))" }, Foundation.tanh)
      case 1: return unary(x, { "sigmoid(\($0))" }) { 1 / (1 + Foundation.exp(-$0)) }
      case 2: return unary(x, { "exp(tanh(\($0)))" }) { Foundation.exp(Foundation.tanh($0)) }
      case 3: return unary(x, { "log(sigmoid(\($0)) + 0.5)" }) { Foundation.log(1 / (1 + Foundation.exp(-$0)) + 0.5) }
      case 4: return unary(x, { "sqrt(sigmoid(\($0)) + 0.1)" }) { (1 / (1 + Foundation.exp(-$0)) + 0.1).squareRoot() }
      case 5: return unary(x, { "abs(\($0))" }, abs)
      case 6: return unary(x, { "relu(\($0))" }) { $0 < 0 ? 0 : $0 }
      case 7: return unary(x, { "(sigmoid(\($0)) + 0.5) ^ 1.5" }) { Foundation.pow(1 / (1 + Foundation.exp(-$0)) + 0.5, 1.5) }
      case 8: return unary(x, { "clamp(\($0), -1, 1)" }) { min(max($0, -1), 1) }
      case 9: return unary(x, { "(\($0)) % 2.5" }) { referenceMod($0, 2.5) }
      case 10:  // with another subtree of w, or a constant, that broadcasts
        let y = g.chance(0.5) ? constant(g.broadcastable(to: s)) : node(max(0, depth - 2))
        let ops: [(String, (Double, Double) -> Double)] = [("+", (+)), ("-", (-)), ("*", (*))]
        let (op, f) = g.pick(ops)
        return binary(x, y, "(\(x.code)) \(op) (\(y.code))", f) ?? x
      case 11:
        let y = g.chance(0.5) ? constant(g.broadcastable(to: s)) : node(max(0, depth - 2))
        let maximum: (Double, Double) -> Double = { Swift.max($0, $1) }
        let minimum: (Double, Double) -> Double = { Swift.min($0, $1) }
        let (name, f) = g.pick([("maximum", maximum), ("minimum", minimum)])
        return binary(x, y, "\(name)(\(x.code), \(y.code))", f) ?? x
      case 12:
        let y = node(max(0, depth - 2))
        let yy = Node(code: "sum(\(y.code))", shape: []) { RefArray(scalar: y.eval($0).values.reduce(0, +)) }
        return binary(x, yy, "(\(x.code)) / (sigmoid(\(yy.code)) + 0.5)") { $0 / (1 / (1 + Foundation.exp(-$1)) + 0.5) } ?? x
      case 13 where !s.isEmpty:  // a reduction along a dim, or of everything
        let d = g.int(0...(s.count - 1))
        let sum: ([Double]) -> Double = { $0.reduce(0, +) }
        let mean: ([Double]) -> Double = { $0.reduce(0, +) / Double($0.count) }
        let (name, f) = g.pick([("sum", sum), ("mean", mean), ("max", RefArray.maxOf), ("min", RefArray.minOf)])
        if g.chance(0.2) {
          return Node(code: "\(name)(\(x.code))", shape: []) { x.eval($0).reduce(dim: nil, f) }
        }
        var out = s
        out.remove(at: d)
        return Node(code: "\(name)(\(x.code), dim: \(d))", shape: out) { x.eval($0).reduce(dim: d, f) }
      case 14 where s.count >= 2:
        let order = Array(0..<s.count).shuffled(using: &g)
        return Node(code: "permute(\(x.code), \(order.source))", shape: order.map { s[$0] }) { x.eval($0).permuted(order) }
      case 15 where !s.isEmpty:  // a slice with a step of either sign
        let subs: [RefArray.Sub] = s.map { n in
          g.chance(0.3) ? .at(g.int(0...(n - 1))) : .slice(g.chance(0.5) ? nil : g.int(-n...(n - 1)), nil, g.pick([1, 2, -1, -2]))
        }
        let probe = RefArray.filled(s, 0).indexed(subs)!
        guard probe.count > 0 else { return x }
        let text = subs.map(\.description).joined(separator: ", ")
        return Node(code: "(\(x.code))[\(text)]", shape: probe.shape) { x.eval($0).indexed(subs)! }
      case 16 where !s.isEmpty:
        let d = g.int(0...(s.count - 1))
        if g.chance(0.5) {
          let c = constant(s)
          var out = s
          out[d] *= 2
          return Node(code: "cat([\(x.code), \(c.code)], dim: \(d))", shape: out) { RefArray.cat([x.eval($0), c.eval($0)], dim: d) }
        }
        var out = s
        out.insert(2, at: d)
        return Node(code: "stack([\(x.code), tanh(\(x.code))], dim: \(d))", shape: out) { w in
          let v = x.eval(w)
          return RefArray.stack([v, v.map(Foundation.tanh)], dim: d)
        }
      case 17 where s.count == 2:
        let c = constant([s[1], g.int(1...3)])
        return Node(code: "(\(x.code)) @ \(c.code)", shape: [s[0], c.shape[1]]) { RefArray.matmul(x.eval($0), c.eval($0)) }
      case 18 where s.count == 4 && s[2] >= 2 && s[3] >= 2:
        switch g.int(0...4) {
        case 0:
          return Node(code: "avg_pool2d(\(x.code), 2, stride: 1, padding: 1)", shape: [s[0], s[1], s[2] + 1, s[3] + 1]) {
            x.eval($0).avgPool(2, stride: 1, padding: 1)
          }
        case 1:
          return Node(code: "max_pool2d(\(x.code), 2, stride: 1)", shape: [s[0], s[1], s[2] - 1, s[3] - 1]) { x.eval($0).maxPool(2, stride: 1) }
        case 2:
          return Node(code: "upsample(\(x.code), scale: 2)", shape: [s[0], s[1], 2 * s[2], 2 * s[3]]) {
            x.eval($0).upsample(2 * s[2], 2 * s[3], mode: "bilinear", scaleFactor: 2)
          }
        case 3:
          return Node(code: "upsample(\(x.code), size: [\(s[2] + 1), \(s[3] + 2)], mode: \"nearest\")", shape: [s[0], s[1], s[2] + 1, s[3] + 2]) {
            x.eval($0).upsample(s[2] + 1, s[3] + 2, mode: "nearest")
          }
        default:
          return Node(code: "mean_filter(\(x.code), 3)", shape: s) { x.eval($0).meanFilter(3) }
        }
      case 19 where !s.isEmpty:  // an index assignment into a copy of x
        let name = "t\(counter)"
        counter += 1
        let subs: [RefArray.Sub] = s.map { n in g.chance(0.4) ? .at(g.int(0...(n - 1))) : .slice(g.int(0...(n - 1)), nil, 1) }
        let selection = RefArray.filled(s, 0).indexed(subs)!.shape
        let value: Node = g.chance(0.5) ? constant(g.broadcastable(to: selection)) : {
          let y = node(max(0, depth - 2))
          return Node(code: "tanh(sum(\(y.code)))", shape: []) { RefArray(scalar: Foundation.tanh(y.eval($0).values.reduce(0, +))) }
        }()
        let text = subs.map(\.description).joined(separator: ", ")
        statements.append("\(name) = (\(x.code)) * 1")
        statements.append("\(name)[\(text)] = \(value.code)")
        return Node(code: name, shape: s) { w in
          var copy = x.eval(w)
          _ = copy.assign(subs, value.eval(w))
          return copy
        }
      default:
        return unary(x, { "(\($0)) * (\($0))" }) { $0 * $0 }
      }
    }
  }

  func testRandomCompositionsMatchFiniteDifferences() {
    let h = Harness()
    forEachCase(400, seed: 20) { g in
      let wShape = (0..<g.int(1...4)).map { _ in g.int(1...3) }
      let builder = Builder(g, wShape)
      let root = builder.node(g.int(1...4))
      let weights = builder.constant(root.shape)
      let w0 = builder.g.array(wShape)
      for (name, value) in builder.constants { h.bind(name, Tensor(value)) }
      h.bind("w", Tensor(w0).asParameter())
      let program = (builder.statements + ["backward(sum((\(root.code)) * \(weights.code)))"]).joined(separator: "\n")
      try h.run(program)
      guard case .tensor(let param)? = h.value("w"), let grad = param.grad else { return "\(program)\nno gradient for w" }

      func loss(_ w: RefArray) -> Double { RefArray.zip(root.eval(w), weights.eval(w), *)!.values.reduce(0, +) }
      for i in 0..<w0.count {
        func shifted(_ d: Double) -> Double { var v = w0; v.values[i] += d; return loss(v) }
        let step = 1e-4, f0 = loss(w0)
        let forward = (shifted(step) - f0) / step, backward = (f0 - shifted(-step)) / step
        // A kink (relu, abs, max, clamp, %) within a step: no derivative to compare.
        guard abs(forward - backward) <= 1e-3 * (1 + abs(forward)) else { continue }
        let numeric = (shifted(1e-6) - shifted(-1e-6)) / 2e-6
        let analytic = Double(grad.data[i])
        if abs(analytic - numeric) > 2e-3 * (1 + abs(numeric)) {
          return "\(program)\nw \(w0.shape) = \(w0.values)\nd/dw[\(i)]: autograd \(analytic), finite differences \(numeric)"
        }
      }
      return nil
    }
  }
}
