import Foundation
import RiadTensor

/// The meaning of each operator on each pair of value types.
enum Operators {
  static func binary(_ op: String, _ a: Value, _ b: Value) throws -> Value {
    switch (a, b) {
    case let (.number(x), .number(y)): return try numbers(op, x, y)
    case let (.tensor(x), .tensor(y)): return try tensors(op, x, y)
    case let (.tensor(x), .number(y)): return try tensors(op, x, Tensor(scalar: Float(y)))
    case let (.number(x), .tensor(y)): return try tensors(op, Tensor(scalar: Float(x)), y)
    case let (.tensor(x), .bool(y)): return try tensors(op, x, Tensor(scalar: y ? 1 : 0))
    case let (.string(x), .string(y)):
      switch op {
      case "+": return .string(x + y)
      case "<": return .bool(x < y)
      case "<=": return .bool(x <= y)
      case ">": return .bool(x > y)
      case ">=": return .bool(x >= y)
      default: break
      }
    case let (.list(x), .list(y)) where op == "+": return .list(x.items + y.items)
    case let (.string(x), .number(y)) where op == "*" && y >= 0 && y == y.rounded() && Double(x.utf8.count) * y < 1e9:
      return .string(String(repeating: x, count: Int(y)))
    default: break
    }
    switch op {
    case "==": return .bool(valuesEqual(a, b))
    case "!=": return .bool(!valuesEqual(a, b))
    default: throw BuiltinError("cannot apply '\(op)' to \(a.brief) and \(b.brief)")
    }
  }

  static func numbers(_ op: String, _ x: Double, _ y: Double) throws -> Value {
    switch op {
    case "+": return .number(x + y)
    case "-": return .number(x - y)
    case "*": return .number(x * y)
    case "/": return .number(x / y)
    case "%":
      guard y != 0 else { throw BuiltinError("modulo by zero") }
      return .number(Scalar.mod(x, y))   // the sign of the divisor, as Python
    case "^": return .number(pow(x, y))
    case "==": return .bool(x == y)
    case "!=": return .bool(x != y)
    case "<": return .bool(x < y)
    case "<=": return .bool(x <= y)
    case ">": return .bool(x > y)
    case ">=": return .bool(x >= y)
    case "@": throw BuiltinError("'@' is the matrix product of tensors, got two numbers")
    default: throw BuiltinError("unknown operator '\(op)'")
    }
  }

  static let tensorOps: [String: BinaryOp] = [
    "+": .add, "-": .sub, "*": .mul, "/": .div, "%": .mod, "^": .pow,
    "==": .eq, "!=": .ne, "<": .lt, "<=": .le, ">": .gt, ">=": .ge,
  ]

  static func tensors(_ op: String, _ a: Tensor, _ b: Tensor) throws -> Value {
    if op == "@" { return .tensor(try Tensor.matmul(a, b)) }
    guard let t = tensorOps[op] else { throw BuiltinError("cannot apply '\(op)' to tensors") }
    return .tensor(try Tensor.binary(a, b, t))
  }

  static func negate(_ v: Value) throws -> Value {
    switch v {
    case .number(let x): return .number(-x)
    case .tensor(let t): return .tensor(-t)
    default: throw BuiltinError("cannot negate \(v.brief)")
    }
  }
}
