/// A recursive-descent parser: one function per grammar rule, each
/// documented by its production. Binary operators come from one table.
///
///     program    → statement* EOF
///     statement  → "fn" NAME "(" params ")" block | "return" expr? | "break"
///                | "continue" | "while" expr block | "for" NAME "in" expr block
///                | expr (("=" | "+=" | "-=" | "*=" | "/=") expr)?
public struct Parser {
  var tokens: [Token]
  var p = 0
  /// While parsing an `if`/`while`/`for` header a `{` opens the block, not a record.
  var noRecord = false
  /// How deeply expressions nest; past `maxDepth` the parser stops with an
  /// error rather than exhausting the stack.
  var depth = 0
  static let maxDepth = 200

  /// Binding power of each binary operator, loosest first (SPEC section 2).
  static let precedence: [String: Int] = [
    "or": 1, "and": 2,
    "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4,
    "..<": 5, "...": 5,
    "+": 6, "-": 6,
    "*": 7, "/": 7, "%": 7, "@": 7,
  ]
  static let notPrecedence = 3, unaryPrecedence = 8

  public init(_ file: SourceFile) throws {
    var lexer = Lexer(file)
    tokens = try lexer.tokenize()
  }

  /// Parses a whole program.
  public static func parse(_ file: SourceFile) throws -> [Stmt] {
    var parser = try Parser(file)
    return try parser.program()
  }

  mutating func program() throws -> [Stmt] {
    var stmts: [Stmt] = []
    skipNewlines()
    while !atEOF {
      stmts.append(try statement())
      try endOfStatement()
    }
    return stmts
  }

  // MARK: - Token helpers

  var current: Token { tokens[p] }
  var atEOF: Bool { if case .eof = current.kind { return true }; return false }

  func isSymbol(_ s: String) -> Bool { if case .symbol(s) = current.kind { return true }; return false }
  func isKeyword(_ k: String) -> Bool { if case .keyword(k) = current.kind { return true }; return false }
  var isNewline: Bool { if case .newline = current.kind { return true }; return false }

  mutating func skipNewlines() { while isNewline { p += 1 } }

  @discardableResult
  mutating func advance() -> Token { let t = tokens[p]; if !atEOF { p += 1 }; return t }

  func error(_ message: String, _ token: Token? = nil) -> ScriptError {
    let t = token ?? current
    if case .eof = t.kind { return ScriptError(.syntax, message, at: t.range, incomplete: true) }
    return ScriptError(.syntax, message, at: t.range)
  }

  mutating func expect(_ s: String, _ context: String) throws -> Token {
    guard isSymbol(s) else { throw error("expected '\(s)' \(context), got \(current.display)") }
    return advance()
  }

  mutating func name(_ context: String) throws -> (String, SourceRange) {
    guard case .identifier(let n) = current.kind else {
      throw error("expected a name \(context), got \(current.display)")
    }
    return (n, advance().range)
  }

  mutating func endOfStatement() throws {
    if isNewline { skipNewlines(); return }
    if atEOF || isSymbol("}") { return }
    throw error("expected end of statement, got \(current.display)")
  }

  // MARK: - Statements

  mutating func statement() throws -> Stmt {
    let start = current.range
    if isKeyword("fn"), case .identifier = tokens[p + 1].kind {
      advance()
      let (n, _) = try name("after 'fn'")
      let decl = try functionRest(name: n, start: start)
      return Stmt(.function(decl), start)
    }
    if isKeyword("return") {
      advance()
      if isNewline || atEOF || isSymbol("}") { return Stmt(.returnStmt(nil), start) }
      return Stmt(.returnStmt(try expression()), start)
    }
    if isKeyword("break") { advance(); return Stmt(.breakStmt, start) }
    if isKeyword("continue") { advance(); return Stmt(.continueStmt, start) }
    if isKeyword("while") {
      advance()
      let cond = try header { try $0.expression() }
      return Stmt(.whileStmt(cond, try block("to start the body of 'while'", opener: start)), start)
    }
    if isKeyword("for") {
      advance()
      let (v, _) = try name("after 'for'")
      guard isKeyword("in") else { throw error("expected 'in' after 'for \(v)', got \(current.display)") }
      advance()
      let seq = try header { try $0.expression() }
      return Stmt(.forStmt(v, seq, try block("to start the body of 'for'", opener: start)), start)
    }
    let e = try expression()
    if case .symbol(let op) = current.kind, ["=", "+=", "-=", "*=", "/="].contains(op) {
      advance()
      switch e.kind {
      case .name, .index, .field: break
      default: throw ScriptError(.syntax, "cannot assign to this expression (assign to a name, an index t[i] or a field r.f)", at: e.range)
      }
      return Stmt(.assign(target: e, op: op, value: try expression()), start)
    }
    return Stmt(.expression(e), e.range)
  }

  mutating func header<T>(_ body: (inout Parser) throws -> T) rethrows -> T {
    let saved = noRecord
    noRecord = true
    defer { noRecord = saved }
    return try body(&self)
  }

  /// block → "{" statement* "}"
  mutating func block(_ context: String, opener: SourceRange) throws -> [Stmt] {
    depth += 1
    defer { depth -= 1 }
    guard depth <= Parser.maxDepth else { throw error("blocks nested too deeply (more than \(Parser.maxDepth) levels)") }
    _ = try expect("{", context)
    let saved = noRecord
    noRecord = false
    defer { noRecord = saved }
    var stmts: [Stmt] = []
    skipNewlines()
    while !isSymbol("}") {
      if atEOF {
        throw ScriptError(.syntax, "expected '}' to close the block opened at line \(opener.line)", at: current.range, incomplete: true)
      }
      stmts.append(try statement())
      try endOfStatement()
    }
    advance()
    return stmts
  }

  /// params → (NAME ("=" expr)? ("," NAME ("=" expr)?)*)?   then block
  mutating func functionRest(name: String, start: SourceRange) throws -> FunctionDecl {
    _ = try expect("(", "after the function name")
    var params: [Param] = []
    while !isSymbol(")") {
      let (n, r) = try self.name("for a parameter")
      if params.contains(where: { $0.name == n }) { throw ScriptError(.syntax, "duplicate parameter '\(n)'", at: r) }
      var def: Expr? = nil
      if isSymbol("=") { advance(); def = try expression() }
      else if params.contains(where: { $0.defaultValue != nil }) {
        throw ScriptError(.syntax, "parameter '\(n)' needs a default because an earlier one has one", at: r)
      }
      params.append(Param(name: n, defaultValue: def))
      if !isSymbol(")") { _ = try expect(",", "between parameters") }
    }
    advance()
    let body = try block("to start the function body", opener: start)
    return FunctionDecl(name: name, params: params, body: body, range: start)
  }

  // MARK: - Expressions

  /// expr → binary(1)
  public mutating func expression() throws -> Expr { try binary(1) }

  /// binary(min) → unary (OP binary(prec+1))*  for OP with prec ≥ min; `not`
  /// sits between `and` and the comparisons.
  mutating func binary(_ minPrec: Int) throws -> Expr {
    depth += 1
    defer { depth -= 1 }
    guard depth <= Parser.maxDepth else { throw error("expression nested too deeply (more than \(Parser.maxDepth) levels)") }
    var left: Expr
    if isKeyword("not") && minPrec <= Parser.notPrecedence {
      let t = advance()
      let operand = try binary(Parser.notPrecedence)
      left = Expr(.unary("not", operand), t.range.through(operand.range))
    } else {
      left = try unary()
    }
    while true {
      let op: String
      switch current.kind {
      case .symbol(let s) where Parser.precedence[s] != nil: op = s
      case .keyword(let k) where k == "and" || k == "or": op = k
      default: return left
      }
      let prec = Parser.precedence[op]!
      if prec < minPrec { return left }
      let opToken = advance()
      let right = try binary(prec + 1)
      let r = left.range.line == right.range.line ? left.range.through(right.range) : opToken.range
      switch op {
      case "and", "or": left = Expr(.logical(op, left, right), r)
      case "..<", "...": left = Expr(.range(left, right, inclusive: op == "..."), r)
      default: left = Expr(.binary(op, left, right), r)
      }
    }
  }

  /// unary → "-" unary | power
  mutating func unary() throws -> Expr {
    depth += 1
    defer { depth -= 1 }
    guard depth <= Parser.maxDepth else { throw error("expression nested too deeply (more than \(Parser.maxDepth) levels)") }
    if isSymbol("-") {
      let t = advance()
      let operand = try unary()
      return Expr(.unary("-", operand), t.range.through(operand.range))
    }
    return try power()
  }

  /// power → postfix ("^" unary)?      (right-associative)
  mutating func power() throws -> Expr {
    let base = try postfix()
    if isSymbol("^") {
      advance()
      let exponent = try unary()
      return Expr(.binary("^", base, exponent), base.range.through(exponent.range))
    }
    return base
  }

  /// postfix → primary ("(" args ")" | "[" subscripts "]" | "." NAME)*
  mutating func postfix() throws -> Expr {
    var e = try primary()
    while true {
      if isSymbol("(") {
        advance()
        let args = try arguments()
        let close = try expect(")", "to close the call")
        e = Expr(.call(e, args), e.range.through(close.range))
      } else if isSymbol("[") {
        let open = advance()
        var subs: [Subscript] = []
        while !isSymbol("]") {
          subs.append(try subscriptItem())
          if !isSymbol("]") { _ = try expect(",", "between indices") }
        }
        if subs.isEmpty { throw error("expected an index inside '[ ]'", open) }
        let close = advance()
        e = Expr(.index(e, subs), e.range.through(close.range))
      } else if isSymbol(".") {
        advance()
        let (f, r) = try name("after '.'")
        e = Expr(.field(e, f), e.range.through(r))
      } else {
        return e
      }
    }
  }

  /// args → (arg ("," arg)*)?  where arg → (NAME ":")? expr
  mutating func arguments() throws -> [Argument] {
    var args: [Argument] = []
    let saved = noRecord
    noRecord = false
    defer { noRecord = saved }
    while !isSymbol(")") {
      let start = current.range
      var label: String? = nil
      if case .identifier(let n) = current.kind, case .symbol(":") = tokens[p + 1].kind {
        label = n; p += 2
      } else if label == nil, args.contains(where: { $0.name != nil }) {
        throw error("positional argument after a named one")
      }
      let v = try expression()
      if let label, args.contains(where: { $0.name == label }) {
        throw ScriptError(.syntax, "argument '\(label)' given twice", at: start)
      }
      args.append(Argument(name: label, value: v, range: start.through(v.range)))
      if !isSymbol(")") { _ = try expect(",", "between arguments") }
    }
    return args
  }

  /// subscript → expr | expr? ":" expr? (":" expr?)?
  mutating func subscriptItem() throws -> Subscript {
    var start: Expr? = nil
    if !isSymbol(":") { start = try expression() }
    guard isSymbol(":") else { return .index(start!) }
    advance()
    var stop: Expr? = nil, step: Expr? = nil
    if !isSymbol(":") && !isSymbol(",") && !isSymbol("]") { stop = try expression() }
    if isSymbol(":") {
      advance()
      if !isSymbol(",") && !isSymbol("]") { step = try expression() }
    }
    return .slice(start: start, stop: stop, step: step)
  }

  /// primary → NUMBER | STRING | "true" | "false" | "nil" | NAME | "(" expr ")"
  ///         | "[" exprs "]" | "{" fields "}" | "fn" "(" params ")" block | if
  mutating func primary() throws -> Expr {
    let t = current
    switch t.kind {
    case .number(let v): advance(); return Expr(.number(v), t.range)
    case .string(let s): advance(); return Expr(.string(s), t.range)
    case .identifier(let n): advance(); return Expr(.name(n), t.range)
    case .keyword("true"): advance(); return Expr(.bool(true), t.range)
    case .keyword("false"): advance(); return Expr(.bool(false), t.range)
    case .keyword("nil"): advance(); return Expr(.nilLiteral, t.range)
    case .keyword("fn"):
      advance()
      return Expr(.function(try functionRest(name: "<fn>", start: t.range)), t.range)
    case .keyword("if"): return try ifExpression()
    case .symbol("("):
      advance()
      let saved = noRecord
      noRecord = false
      defer { noRecord = saved }
      let e = try expression()
      _ = try expect(")", "to close '(' at line \(t.range.line)")
      return e
    case .symbol("["):
      advance()
      let saved = noRecord
      noRecord = false
      defer { noRecord = saved }
      var items: [Expr] = []
      while !isSymbol("]") {
        items.append(try expression())
        if !isSymbol("]") { _ = try expect(",", "between list items") }
      }
      let close = advance()
      return Expr(.list(items), t.range.through(close.range))
    case .symbol("{") where !noRecord:
      return try recordLiteral()
    case .eof:
      throw error("unexpected end of input")
    default:
      throw error("expected an expression, got \(t.display)")
    }
  }

  /// record → "{" (key ":" expr ("," key ":" expr)*)? "}"  with key → NAME | STRING
  mutating func recordLiteral() throws -> Expr {
    let open = advance()
    var fields: [(String, Expr)] = []
    skipNewlines()
    while !isSymbol("}") {
      let key: String
      switch current.kind {
      case .identifier(let n): key = n
      case .string(let s): key = s
      case .keyword(let k): key = k
      case .eof: throw error("expected '}' to close the record opened at line \(open.range.line)")
      default: throw error("expected a field name in the record, got \(current.display)")
      }
      let keyToken = advance()
      _ = try expect(":", "after field name '\(key)'")
      if fields.contains(where: { $0.0 == key }) { throw ScriptError(.syntax, "field '\(key)' given twice", at: keyToken.range) }
      fields.append((key, try expression()))
      skipNewlines()
      if !isSymbol("}") { _ = try expect(",", "between record fields"); skipNewlines() }
    }
    let close = advance()
    return Expr(.record(fields), open.range.through(close.range))
  }

  /// if → "if" expr block ("else" (if | block))?
  mutating func ifExpression() throws -> Expr {
    let start = advance().range
    let cond = try header { try $0.expression() }
    let then = try block("to start the body of 'if'", opener: start)
    // `else` may follow on a later line.
    var look = p
    while case .newline = tokens[look].kind { look += 1 }
    guard case .keyword("else") = tokens[look].kind else { return Expr(.ifExpr(cond: cond, then: then, else: nil), start) }
    p = look + 1
    if isKeyword("if") {
      let nested = try ifExpression()
      return Expr(.ifExpr(cond: cond, then: then, else: [Stmt(.expression(nested), nested.range)]), start)
    }
    let other = try block("after 'else'", opener: start)
    return Expr(.ifExpr(cond: cond, then: then, else: other), start)
  }
}
