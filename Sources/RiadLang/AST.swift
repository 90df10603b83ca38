/// The syntax tree. Every node carries the source range it came from.

public struct Param: Equatable {
  public let name: String
  public let defaultValue: Expr?
}

public struct Argument: Equatable {
  public let name: String?   // nil for positional
  public let value: Expr
  public let range: SourceRange
}

/// One position inside `t[...]`: an expression or a slice `a:b:c`.
public enum Subscript: Equatable {
  case index(Expr)
  case slice(start: Expr?, stop: Expr?, step: Expr?)
}

public final class FunctionDecl: Equatable {
  public let name: String
  public let params: [Param]
  public let body: [Stmt]
  public let range: SourceRange

  init(name: String, params: [Param], body: [Stmt], range: SourceRange) {
    self.name = name; self.params = params; self.body = body; self.range = range
  }
  public static func == (a: FunctionDecl, b: FunctionDecl) -> Bool { a === b }
}

public indirect enum ExprKind: Equatable {
  case number(Double)
  case string(String)
  case bool(Bool)
  case nilLiteral
  case name(String)
  case list([Expr])
  case record([(String, Expr)])
  case unary(String, Expr)
  case binary(String, Expr, Expr)
  case logical(String, Expr, Expr)        // and / or, short-circuit
  case range(Expr, Expr, inclusive: Bool)
  case call(Expr, [Argument])
  case index(Expr, [Subscript])
  case field(Expr, String)
  case function(FunctionDecl)
  case ifExpr(cond: Expr, then: [Stmt], else: [Stmt]?)

  public static func == (a: ExprKind, b: ExprKind) -> Bool {
    switch (a, b) {
    case let (.number(x), .number(y)): return x == y
    case let (.string(x), .string(y)): return x == y
    case let (.bool(x), .bool(y)): return x == y
    case (.nilLiteral, .nilLiteral): return true
    case let (.name(x), .name(y)): return x == y
    case let (.list(x), .list(y)): return x == y
    case let (.record(x), .record(y)): return x.map(\.0) == y.map(\.0) && x.map(\.1) == y.map(\.1)
    case let (.unary(o, x), .unary(p, y)): return o == p && x == y
    case let (.binary(o, x1, x2), .binary(p, y1, y2)), let (.logical(o, x1, x2), .logical(p, y1, y2)):
      return o == p && x1 == y1 && x2 == y2
    case let (.range(x1, x2, i), .range(y1, y2, j)): return x1 == y1 && x2 == y2 && i == j
    case let (.call(f, xs), .call(g, ys)): return f == g && xs == ys
    case let (.index(x, s), .index(y, t)): return x == y && s == t
    case let (.field(x, f), .field(y, g)): return x == y && f == g
    case let (.function(f), .function(g)): return f == g
    case let (.ifExpr(c, t, e), .ifExpr(d, u, f)): return c == d && t == u && e == f
    default: return false
    }
  }
}

public struct Expr: Equatable {
  public let kind: ExprKind
  public let range: SourceRange
  public init(_ kind: ExprKind, _ range: SourceRange) { self.kind = kind; self.range = range }
  public static func == (a: Expr, b: Expr) -> Bool { a.kind == b.kind }
}

public indirect enum StmtKind: Equatable {
  case expression(Expr)
  case assign(target: Expr, op: String, value: Expr)   // op is "=", "+=", …
  case function(FunctionDecl)
  case returnStmt(Expr?)
  case whileStmt(Expr, [Stmt])
  case forStmt(String, Expr, [Stmt])
  case breakStmt, continueStmt
}

public struct Stmt: Equatable {
  public let kind: StmtKind
  public let range: SourceRange
  public init(_ kind: StmtKind, _ range: SourceRange) { self.kind = kind; self.range = range }
  public static func == (a: Stmt, b: Stmt) -> Bool { a.kind == b.kind }
}
