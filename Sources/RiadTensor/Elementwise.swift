import Foundation

/// Binary elementwise operations with NumPy broadcasting.
public enum BinaryOp: String, CaseIterable {
  case add = "+", sub = "-", mul = "*", div = "/", mod = "%", pow = "^"
  case maximum = "maximum", minimum = "minimum"
  case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="

  var isComparison: Bool {
    switch self { case .eq, .ne, .lt, .le, .gt, .ge: return true; default: return false }
  }
}

/// Unary elementwise operations.
public enum UnaryOp: String, CaseIterable {
  case neg, exp, log, sqrt, abs, relu, sigmoid, tanh, square, floor, ceil, round
}

/// The scalar rules shared by tensors and by the language's numbers, with
/// NumPy's and PyTorch's answers at the edges: NaN in, NaN out.
public enum Scalar {
  /// Python's `%`: the remainder takes the sign of the divisor (floored
  /// division), NaN for a zero divisor; `np.mod` and `torch.remainder`.
  @inline(__always)
  public static func mod<T: BinaryFloatingPoint>(_ a: T, _ b: T) -> T {
    let r = a.truncatingRemainder(dividingBy: b)
    return r != 0 && (r < 0) != (b < 0) ? r + b : r
  }

  /// `max(a, b)` that propagates NaN (`np.maximum`, `torch.maximum`).
  @inline(__always)
  public static func maximum(_ a: Float, _ b: Float) -> Float { a.isNaN || b.isNaN ? .nan : (a < b ? b : a) }

  /// `min(a, b)` that propagates NaN (`np.minimum`, `torch.minimum`).
  @inline(__always)
  public static func minimum(_ a: Float, _ b: Float) -> Float { a.isNaN || b.isNaN ? .nan : (b < a ? b : a) }

  /// max(x, 0), NaN kept (`torch.relu`).
  @inline(__always)
  public static func relu(_ x: Float) -> Float { x < 0 ? 0 : x }
}

extension Tensor {
  // MARK: - Binary

  /// `a op b` elementwise, broadcasting as NumPy does. Comparisons give 0/1
  /// (false wherever NaN takes part, except `!=`).
  public static func binary(_ a: Tensor, _ b: Tensor, _ op: BinaryOp) throws -> Tensor {
    guard let out = Broadcast.shape(a.shape, b.shape) else {
      throw TensorError("'\(op.rawValue)': shapes \(a.shape.shapeString) and \(b.shape.shapeString) do not broadcast")
    }
    let values: [Float]
    switch op {
    case .add: values = Broadcast.zip(a, b, out, +)
    case .sub: values = Broadcast.zip(a, b, out, -)
    case .mul: values = Broadcast.zip(a, b, out, *)
    case .div: values = Broadcast.zip(a, b, out, /)
    case .mod: values = Broadcast.zip(a, b, out) { Scalar.mod($0, $1) }
    case .pow: values = Broadcast.zip(a, b, out) { Foundation.pow($0, $1) }
    case .maximum: values = Broadcast.zip(a, b, out, Scalar.maximum)
    case .minimum: values = Broadcast.zip(a, b, out, Scalar.minimum)
    case .eq: values = Broadcast.zip(a, b, out) { $0 == $1 ? 1 : 0 }
    case .ne: values = Broadcast.zip(a, b, out) { $0 != $1 ? 1 : 0 }
    case .lt: values = Broadcast.zip(a, b, out) { $0 < $1 ? 1 : 0 }
    case .le: values = Broadcast.zip(a, b, out) { $0 <= $1 ? 1 : 0 }
    case .gt: values = Broadcast.zip(a, b, out) { $0 > $1 ? 1 : 0 }
    case .ge: values = Broadcast.zip(a, b, out) { $0 >= $1 ? 1 : 0 }
    }
    let y = Tensor(shape: out, data: values)
    if op.isComparison { return y }
    let (sa, sb) = (a.shape, b.shape)
    // Which operands get a gradient, taken now, as the node's edges are (the
    // rules of + and − read neither operand and must not keep them alive
    // to ask).
    let (needA, needB) = (a.requiresGrad, b.requiresGrad)
    let reads: GradReads
    switch op {
    case .add, .sub: reads = []
    // The divisor's gradient, −g·⌊a/b⌋, reads both operands; the dividend's only g.
    case .mod: reads = needB ? .inputs : []
    case .div, .pow: reads = [.inputs, .output]
    default: reads = .inputs
    }
    // The rules read the output y: capture it unowned, or y → node → rule → y
    // would be a cycle that keeps every graph alive.
    return y.record(op.rawValue, [a, b], reads: reads) { [unowned y] g in
      func down(_ t: Tensor, _ s: [Int]) -> Tensor { Broadcast.reduce(t, to: s) }
      func z(_ x: Tensor, _ y: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        Tensor(shape: out, data: Broadcast.zip(x, y, out, f))
      }
      switch op {
      // d(a+b) = g, g (nothing for an operand without a gradient: a
      // constant such as the 1 of `1 - m` would be summed over every element)
      case .add: return [needA ? down(g, sa) : nil, needB ? down(g, sb) : nil]
      // d(a-b) = g, -g
      case .sub: return [needA ? down(g, sa) : nil, needB ? down(g.map { -$0 }, sb) : nil]
      // a mod b = a − b·⌊a/b⌋: g, −g·⌊a/b⌋ (torch.remainder's rule)
      case .mod:
        let gb = needB ? down(z(g, z(a, b) { ($0 / $1).rounded(.down) }) { -$0 * $1 }, sb) : nil
        return [needA ? down(g, sa) : nil, gb]
      // d(a*b) = g*b, g*a
      case .mul: return [needA ? down(z(g, b, *), sa) : nil,
                         needB ? down(z(g, a, *), sb) : nil]
      // d(a/b) = g/b, -g*a/b²  = -g*y/b
      case .div:
        let gb = needB ? down(z(z(g, y, *), b) { -$0 / $1 }, sb) : nil
        return [needA ? down(z(g, b, /), sa) : nil, gb]
      // d(a^b) = g*b*a^(b-1), g*y*ln(a); PyTorch's conventions where these
      // are 0·∞: no gradient to a when b = 0, none to b when a = 0 and b ≥ 0.
      case .pow:
        let ga = needA
          ? down(z(g, z(a, b) { $1 == 0 ? 0 : $1 * Foundation.pow($0, $1 - 1) }, *), sa) : nil
        let gb = needB
          ? down(z(z(g, y, *), z(a, b) { $0 == 0 && $1 >= 0 ? 0 : Foundation.log($0) }, *), sb) : nil
        return [ga, gb]
      // the gradient goes to the larger (smaller) operand; a tie splits it
      // in half (torch.maximum's rule)
      case .maximum, .minimum:
        let share = z(a, b) { x, y in x == y ? 0.5 : ((op == .maximum ? x > y : x < y) ? 1 : 0) }
        return [needA ? down(z(g, share, *), sa) : nil,
                needB ? down(z(g, share) { $0 * (1 - $1) }, sb) : nil]
      default: return [nil, nil]
      }
    }
  }

  public static func + (a: Tensor, b: Tensor) throws -> Tensor { try binary(a, b, .add) }
  public static func - (a: Tensor, b: Tensor) throws -> Tensor { try binary(a, b, .sub) }
  public static func * (a: Tensor, b: Tensor) throws -> Tensor { try binary(a, b, .mul) }
  public static func / (a: Tensor, b: Tensor) throws -> Tensor { try binary(a, b, .div) }
  public static func + (a: Tensor, b: Float) -> Tensor { try! binary(a, Tensor(scalar: b), .add) }
  public static func - (a: Tensor, b: Float) -> Tensor { try! binary(a, Tensor(scalar: b), .sub) }
  public static func * (a: Tensor, b: Float) -> Tensor { try! binary(a, Tensor(scalar: b), .mul) }
  public static func / (a: Tensor, b: Float) -> Tensor { try! binary(a, Tensor(scalar: b), .div) }
  public static func - (a: Float, b: Tensor) -> Tensor { try! binary(Tensor(scalar: a), b, .sub) }
  public static func * (a: Float, b: Tensor) -> Tensor { try! binary(Tensor(scalar: a), b, .mul) }
  public static prefix func - (a: Tensor) -> Tensor { a.unary(.neg) }

  // MARK: - Unary

  /// Applies `op` to every element.
  public func unary(_ op: UnaryOp) -> Tensor {
    let x = self
    let y: Tensor
    switch op {
    case .neg: y = map { -$0 }
    case .exp: y = map { Foundation.exp($0) }
    case .log: y = map { Foundation.log($0) }
    case .sqrt: y = map { $0.squareRoot() }
    case .abs: y = map { Swift.abs($0) }
    case .relu: y = map(Scalar.relu)
    case .sigmoid: y = map { 1 / (1 + Foundation.exp(-$0)) }
    case .tanh: y = map { Foundation.tanh($0) }
    case .square: y = map { $0 * $0 }
    case .floor: return map { $0.rounded(.down) }
    case .ceil: return map { $0.rounded(.up) }
    case .round: return map { $0.rounded(.toNearestOrEven) }
    }
    let reads: GradReads
    switch op {
    case .neg: reads = []
    case .exp, .sqrt, .sigmoid, .tanh: reads = .output
    default: reads = .inputs
    }
    return y.record(op.rawValue, [x], reads: reads) { [unowned y] g in
      switch op {
      case .neg: return [g.map { -$0 }]
      case .exp: return [g.zipMap(y) { $0 * $1 }]                       // e^x
      case .log: return [g.zipMap(x) { $0 / $1 }]                       // 1/x
      case .sqrt: return [g.zipMap(y) { $0 / (2 * $1) }]                // 1/(2√x)
      case .abs: return [g.zipMap(x) { $1 > 0 ? $0 : ($1 < 0 ? -$0 : 0) }]
      case .relu: return [g.zipMap(x) { $1 > 0 ? $0 : 0 }]
      case .sigmoid: return [g.zipMap(y) { $0 * $1 * (1 - $1) }]        // σ(1-σ)
      case .tanh: return [g.zipMap(y) { $0 * (1 - $1 * $1) }]           // 1-tanh²
      case .square: return [g.zipMap(x) { 2 * $0 * $1 }]
      default: return [nil]
      }
    }
  }

  public func relu() -> Tensor { unary(.relu) }
  public func sigmoid() -> Tensor { unary(.sigmoid) }
  public func tanh() -> Tensor { unary(.tanh) }
  public func exp() -> Tensor { unary(.exp) }
  public func log() -> Tensor { unary(.log) }
  public func sqrt() -> Tensor { unary(.sqrt) }
  public func square() -> Tensor { unary(.square) }

  /// Limits every element to [lo, hi] (NaN stays NaN); the gradient passes
  /// where it was inside.
  public func clamp(_ lo: Float, _ hi: Float) -> Tensor {
    let x = self
    return map { v in let c = v < lo ? lo : v; return c > hi ? hi : c }.record("clamp", [x]) { g in
      [g.zipMap(x) { $1 >= lo && $1 <= hi ? $0 : 0 }]
    }
  }

  // MARK: - Raw maps (no autograd)

  /// A new tensor of `f` applied to each element, not recorded.
  @inline(__always)
  public func map(_ f: (Float) -> Float) -> Tensor {
    // Writes o[i] for every i.
    let out = makeFloats(count) { o in
      data.withUnsafeBufferPointer { p in
        for i in 0..<p.count { o[i] = f(p[i]) }
      }
    }
    return Tensor(shape: shape, data: out)
  }

  /// `f` over two same-shape tensors, not recorded.
  @inline(__always)
  func zipMap(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
    // Writes o[i] for every i.
    let out = makeFloats(count) { o in
      data.withUnsafeBufferPointer { p in
        other.data.withUnsafeBufferPointer { q in
          for i in 0..<p.count { o[i] = f(p[i], q[i]) }
        }
      }
    }
    return Tensor(shape: shape, data: out)
  }
}
