import Foundation
import RiadTensor

/// Non-local exits, carried as Swift errors through the tree walk.
enum ControlFlow: Error {
  case returning(Value)
  case breaking(SourceRange)
  case continuing(SourceRange)
}

/// The tree-walking evaluator.
public final class Interpreter {
  public let registry: BuiltinRegistry
  public let globals = Environment(parent: nil)
  /// Where `print` writes (stdout by default).
  public var output: (String) -> Void = { text in
    FileHandle.standardOutput.write((text + "\n").data(using: .utf8)!)
  }
  /// Polled at every statement, loop iteration and call: true stops evaluation.
  public var interruptCheck: () -> Bool = { false }
  /// The deepest chain of script function calls before an error; the
  /// evaluator's stack is sized for it (`EvaluatorStack`).
  public static let maxCallDepth = 200
  /// The file being run (for `run` and relative paths in messages).
  public private(set) var currentFile: SourceFile?

  var depth = 0
  /// The statement each active function is executing, for error frames.
  var currentStatement: SourceRange = .none

  public init(registry: BuiltinRegistry) {
    self.registry = registry
  }

  /// The globals may hold functions that close over them (inside a list or
  /// a record, say): a cycle that outlives the interpreter unless cut here.
  /// Scopes of finished calls still in a cycle hold the globals as their
  /// parent: a last collection frees them.
  deinit {
    globals.clear()
    CycleCollector.collect()
  }

  // MARK: - Running programs

  /// Runs a whole program in the global scope. `echo` receives the value of
  /// every top-level expression statement that is not nil (REPL, `-e`), which
  /// is also bound to `ans`. Returns the value of the last statement when
  /// it is an expression that is not nil (a notebook cell's result).
  @discardableResult
  public func run(_ file: SourceFile, echo: ((Value) -> Void)? = nil) throws -> Value? {
    try EvaluatorStack.run { try runHere(file, echo: echo) }
  }

  private func runHere(_ file: SourceFile, echo: ((Value) -> Void)?) throws -> Value? {
    let program = try Parser.parse(file)
    let saved = currentFile
    currentFile = file
    defer { currentFile = saved }
    do {
      var last: Value? = nil
      for stmt in program {
        let v = try execute(stmt, globals)
        last = nil
        if case .expression = stmt.kind, !v.isNil {
          last = v
          if let echo {
            globals[local: "ans"] = v
            echo(v)
          }
        }
      }
      return last
    } catch let flow as ControlFlow {
      switch flow {
      case .returning: throw ScriptError(.runtime, "'return' outside a function", at: currentStatement)
      case .breaking(let r): throw ScriptError(.runtime, "'break' outside a loop", at: r)
      case .continuing(let r): throw ScriptError(.runtime, "'continue' outside a loop", at: r)
      }
    }
  }

  func checkInterrupt(_ range: SourceRange) throws {
    if interruptCheck() { throw ScriptError(.interrupted, "interrupted", at: range) }
  }

  /// Wraps host errors into a located script error.
  func located<T>(_ range: SourceRange, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ScriptError { throw e } catch let e as ControlFlow { throw e } catch let e as BuiltinError {
      throw ScriptError(.runtime, e.message, at: range)
    } catch let e as TensorError {
      throw ScriptError(.runtime, e.message, at: range)
    } catch {
      throw ScriptError(.runtime, "\(error)", at: range)
    }
  }

  // MARK: - Statements

  @discardableResult
  func execute(_ stmt: Stmt, _ env: Environment) throws -> Value {
    currentStatement = stmt.range
    CycleCollector.collectIfDue()
    try checkInterrupt(stmt.range)
    switch stmt.kind {
    case .expression(let e):
      return try evaluate(e, env)
    case .assign(let target, let op, let valueExpr):
      try assign(target, op, valueExpr, env)
      return .none
    case .function(let decl):
      env[local: decl.name] = .function(Closure(decl, env))
      return .none
    case .returnStmt(let e):
      throw ControlFlow.returning(try e.map { try evaluate($0, env) } ?? .none)
    case .breakStmt: throw ControlFlow.breaking(stmt.range)
    case .continueStmt: throw ControlFlow.continuing(stmt.range)
    case .whileStmt(let cond, let body):
      while try truth(evaluate(cond, env), cond.range) {
        try checkInterrupt(stmt.range)
        do { try executeBlock(body, env) } catch ControlFlow.breaking { break } catch ControlFlow.continuing { continue }
      }
      return .none
    case .forStmt(let name, let seqExpr, let body):
      let seq = try evaluate(seqExpr, env)
      let items = try located(seqExpr.range) { try iterate(seq) }
      for i in 0..<items.count {
        try checkInterrupt(stmt.range)
        env.assign(name, items.item(i))
        do { try executeBlock(body, env) } catch ControlFlow.breaking { break } catch ControlFlow.continuing { continue }
      }
      return .none
    }
  }

  /// Runs statements in order; the value of the last one is the block's value.
  @discardableResult
  func executeBlock(_ stmts: [Stmt], _ env: Environment) throws -> Value {
    var last: Value = .none
    for s in stmts { last = try execute(s, env) }
    return last
  }

  /// What `for` walks: list items, range integers, tensor rows, record keys,
  /// string characters — produced one at a time, so `for i in 0..<1e9` needs
  /// no memory up front.
  func iterate(_ v: Value) throws -> (count: Int, item: (Int) -> Value) {
    switch v {
    case .list(let l):
      let items = l.items
      return (items.count, { items[$0] })
    case .range(let a, let b): return (max(0, b - a), { .number(Double(a + $0)) })
    case .record(let r):
      let keys = r.keys
      return (keys.count, { .string(keys[$0]) })
    case .string(let s):
      let chars = Array(s)
      return (chars.count, { .string(String(chars[$0])) })
    case .tensor(let t):
      guard t.rank >= 1 else { throw BuiltinError("cannot iterate over a scalar tensor") }
      return (t.shape[0], { i in
        let row = try! t.indexed([.at(i)])
        return row.rank == 0 ? .number(Double(row.data[0])) : .tensor(row)
      })
    default: throw BuiltinError("cannot iterate over \(v.brief)")
    }
  }

  func assign(_ target: Expr, _ op: String, _ valueExpr: Expr, _ env: Environment) throws {
    func combine(_ old: Value) throws -> Value {
      let new = try evaluate(valueExpr, env)
      guard op != "=" else { return new }
      return try located(target.range.through(valueExpr.range)) { try Operators.binary(String(op.dropLast()), old, new) }
    }
    switch target.kind {
    case .name(let n):
      if op == "=" { env.assign(n, try evaluate(valueExpr, env)); return }
      guard let old = env.lookup(n) else { throw unknownName(n, target.range, env) }
      env.assign(n, try combine(old))
    case .field(let objExpr, let f):
      let obj = try evaluate(objExpr, env)
      guard case .record(let r) = obj else {
        throw ScriptError(.runtime, "cannot set field '\(f)' of \(obj.brief) (only records have settable fields)", at: target.range)
      }
      if op != "=", r[f] == nil { throw ScriptError(.runtime, "record has no field '\(f)'", at: target.range) }
      r[f] = try combine(r[f] ?? .none)
    case .index(let objExpr, let subs):
      let obj = try targetContainer(objExpr, target, op, valueExpr, env)
      let keys = try subs.map { try evaluateSubscript($0, env) }
      let old: Value = op == "=" ? .none : try located(target.range) { try getIndex(obj, keys) }
      let new = try combine(old)
      try located(target.range) { try setIndex(obj, keys, new) }
    default:
      throw ScriptError(.syntax, "cannot assign to this expression", at: target.range)
    }
  }

  /// The value an index assignment writes into. Indexing a tensor and the
  /// tensor operators make new tensors, so writing into their result could
  /// never be seen: that is an error which says what to write instead.
  func targetContainer(_ objExpr: Expr, _ target: Expr, _ op: String, _ valueExpr: Expr,
                       _ env: Environment) throws -> Value {
    let what: String
    switch objExpr.kind {
    case .index(let baseExpr, let subs):
      let base = try evaluate(baseExpr, env)
      let keys = try subs.map { try evaluateSubscript($0, env) }
      guard case .tensor = base else { return try located(objExpr.range) { try getIndex(base, keys) } }
      let integers = keys.allSatisfy { if case .index(_?, _) = $0 { return true }; return false }
      let merged = integers ? mergedSubscripts(target, baseExpr) : nil
      what = "\(sourceText(objExpr.range) ?? "the indexed tensor") is a new tensor (indexing copies), so writing into it would change nothing; "
        + (merged.map { "write \($0) \(op) \(sourceText(valueExpr.range) ?? "…") instead" }
           ?? "index once, with every subscript inside one pair of brackets")
    case .binary, .unary:
      let v = try evaluate(objExpr, env)
      guard case .tensor = v else { return v }
      what = "the result of an operator is a new tensor, so writing into it would change nothing; give it a name first (y = …), then write into y"
    default:
      return try evaluate(objExpr, env)
    }
    throw ScriptError(.runtime, what, at: target.range)
  }

  /// `b[0, 1]` for the target `b[0][1]`: the base's text with the two
  /// bracket contents joined, when the source is at hand.
  func mergedSubscripts(_ target: Expr, _ base: Expr) -> String? {
    guard let text = sourceText(target.range), let baseText = sourceText(base.range),
          text.hasPrefix(baseText) else { return nil }
    var groups: [String] = [], depth = 0, current = ""
    for ch in text.dropFirst(baseText.count) {
      if ch == "[" { depth += 1; if depth == 1 { current = ""; continue } }
      if ch == "]" { depth -= 1; if depth == 0 { groups.append(current.trimmingCharacters(in: .whitespaces)); continue } }
      if depth >= 1 { current.append(ch) }
    }
    guard groups.count == 2 else { return nil }
    return "\(baseText)[\(groups.joined(separator: ", "))]"
  }

  /// The source text of a range on one line.
  func sourceText(_ r: SourceRange) -> String? {
    guard let file = r.file, r.length > 0 else { return nil }
    let line = Array(file.line(r.line))
    guard r.column >= 1, r.column - 1 + r.length <= line.count else { return nil }
    return String(line[(r.column - 1)..<(r.column - 1 + r.length)])
  }

  // MARK: - Expressions

  /// The value of an expression. Each kind of expression has its own
  /// function: this one only dispatches, so that its stack frame, paid once
  /// per level of nesting, stays small (the evaluator's stack budget,
  /// `EvaluatorStack`, assumes so).
  public func evaluate(_ expr: Expr, _ env: Environment) throws -> Value {
    // No payload is bound here: each helper takes its own out of `expr`.
    switch expr.kind {
    case .number, .string, .bool, .nilLiteral, .function: return literal(expr, env)
    case .name: return try evaluateName(expr, env)
    case .list: return try evaluateList(expr, env)
    case .record: return try evaluateRecord(expr, env)
    case .unary: return try evaluateUnary(expr, env)
    case .binary: return try evaluateBinary(expr, env)
    case .logical: return try evaluateLogical(expr, env)
    case .range: return try evaluateRange(expr, env)
    case .call: return try evaluateCall(expr, env)
    case .index: return try evaluateIndex(expr, env)
    case .field: return try evaluateField(expr, env)
    case .ifExpr: return try evaluateIf(expr, env)
    }
  }

  @inline(never)
  func literal(_ expr: Expr, _ env: Environment) -> Value {
    switch expr.kind {
    case .number(let v): return .number(v)
    case .string(let s): return .string(s)
    case .bool(let b): return .bool(b)
    case .function(let decl): return .function(Closure(decl, env))
    default: return .none
    }
  }

  @inline(never)
  func evaluateName(_ expr: Expr, _ env: Environment) throws -> Value {
    guard case .name(let n) = expr.kind else { return .none }
    return try lookup(n, expr.range, env)
  }

  @inline(never)
  func evaluateList(_ expr: Expr, _ env: Environment) throws -> Value {
    guard case .list(let items) = expr.kind else { return .none }
    return .list(try items.map { try evaluate($0, env) })
  }

  @inline(never)
  func evaluateRecord(_ expr: Expr, _ env: Environment) throws -> Value {
    guard case .record(let fields) = expr.kind else { return .none }
    return .record(try fields.map { ($0.0, try evaluate($0.1, env)) })
  }

  @inline(never)
  func evaluateUnary(_ expr: Expr, _ env: Environment) throws -> Value {
    guard case .unary(let op, let operand) = expr.kind else { return .none }
    let v = try evaluate(operand, env)
    if op == "not" { return .bool(!(try truth(v, operand.range))) }
    return try located(expr.range) { try Operators.negate(v) }
  }

  @inline(never)
  func evaluateBinary(_ expr: Expr, _ env: Environment) throws -> Value {
    guard case .binary(let op, let l, let r) = expr.kind else { return .none }
    let a = try evaluate(l, env), b = try evaluate(r, env)
    return try located(expr.range) { try Operators.binary(op, a, b) }
  }

  @inline(never)
  func evaluateLogical(_ expr: Expr, _ env: Environment) throws -> Value {
    guard case .logical(let op, let l, let r) = expr.kind else { return .none }
    let a = try truth(evaluate(l, env), l.range)
    if op == "and" { return .bool(a ? try truth(evaluate(r, env), r.range) : false) }
    return .bool(a ? true : try truth(evaluate(r, env), r.range))
  }

  @inline(never)
  func evaluateRange(_ expr: Expr, _ env: Environment) throws -> Value {
    guard case .range(let l, let r, let inclusive) = expr.kind else { return .none }
    let a = try evaluate(l, env), b = try evaluate(r, env)
    guard case .number(let x) = a, case .number(let y) = b, x == x.rounded(), y == y.rounded(), abs(x) < 1e15, abs(y) < 1e15 else {
      throw ScriptError(.runtime, "range bounds must be integers, got \(a.brief) and \(b.brief)", at: expr.range)
    }
    return .range(Int(x), Int(y) + (inclusive ? 1 : 0))
  }

  @inline(never)
  func evaluateIndex(_ expr: Expr, _ env: Environment) throws -> Value {
    guard case .index(let objExpr, let subs) = expr.kind else { return .none }
    let obj = try evaluate(objExpr, env)
    let keys = try subs.map { try evaluateSubscript($0, env) }
    return try located(expr.range) { try getIndex(obj, keys) }
  }

  @inline(never)
  func evaluateField(_ expr: Expr, _ env: Environment) throws -> Value {
    guard case .field(let objExpr, let name) = expr.kind else { return .none }
    let obj = try evaluate(objExpr, env)
    return try located(expr.range) { try field(obj, name) }
  }

  @inline(never)
  func evaluateIf(_ expr: Expr, _ env: Environment) throws -> Value {
    guard case .ifExpr(let cond, let then, let other) = expr.kind else { return .none }
    if try truth(evaluate(cond, env), cond.range) { return try executeBlock(then, env) }
    return try other.map { try executeBlock($0, env) } ?? .none
  }

  /// Conditions take bools, and one-element tensors (non-zero is true).
  func truth(_ v: Value, _ range: SourceRange) throws -> Bool {
    switch v {
    case .bool(let b): return b
    case .tensor(let t) where t.count == 1: return t.data[0] != 0
    default: throw ScriptError(.runtime, "a condition must be true or false, got \(v.brief)", at: range)
    }
  }

  func lookup(_ name: String, _ range: SourceRange, _ env: Environment) throws -> Value {
    if let v = env.lookup(name) { return v }
    if let b = registry[name] { return .builtin(b) }
    throw unknownName(name, range, env)
  }

  func unknownName(_ name: String, _ range: SourceRange, _ env: Environment) -> ScriptError {
    if ["exit", "quit", "q"].contains(name) {
      return ScriptError(.runtime, "unknown name '\(name)': to leave riad, type :quit or press Ctrl-D (in a script, the script ends by itself)", at: range)
    }
    return ScriptError(.runtime, "unknown name '\(name)'" + didYouMean(name, env.names + registry.names), at: range)
  }

  func field(_ obj: Value, _ name: String) throws -> Value {
    switch obj {
    case .record(let r):
      if let v = r[name] { return v }
      throw BuiltinError("record has no field '\(name)'" + didYouMean(name, r.keys))
    case .host(let h):
      if let v = h.field(name) { return v }
      throw BuiltinError("\(h.typeName) has no field '\(name)'" + didYouMean(name, h.fieldNames))
    default:
      let hint = registry[name] != nil ? " (to call \(name) on it, write x.\(name)() or \(name)(x))" : ""
      throw BuiltinError("\(obj.brief) has no field '\(name)'\(hint)")
    }
  }

  // MARK: - Indexing

  enum Key { case index(Int?, Double?), slice(Int?, Int?, Int), value(Value) }

  func evaluateSubscript(_ s: Subscript, _ env: Environment) throws -> Key {
    func integer(_ e: Expr?) throws -> Int? {
      guard let e else { return nil }
      let v = try evaluate(e, env)
      if v.isNil { return nil }
      guard case .number(let x) = v, x == x.rounded(), abs(x) < 1e15 else {
        throw ScriptError(.runtime, "a slice bound must be an integer, got \(v.brief)", at: e.range)
      }
      return Int(x)
    }
    switch s {
    case .index(let e):
      let v = try evaluate(e, env)
      if case .number(let x) = v { return x == x.rounded() && abs(x) < 1e15 ? .index(Int(x), x) : .index(nil, x) }
      return .value(v)
    case .slice(let a, let b, let c):
      let step = try integer(c) ?? 1
      if step == 0 { throw ScriptError(.runtime, "slice step cannot be zero", at: c?.range ?? currentStatement) }
      return .slice(try integer(a), try integer(b), step)
    }
  }

  func tensorIndices(_ keys: [Key]) throws -> [TensorIndex] {
    try keys.map { k in
      switch k {
      case .index(let i?, _): return .at(i)
      case .index(nil, let x): throw BuiltinError("a tensor index must be an integer, got number \(formatNumber(x ?? 0))")
      case .slice(let a, let b, let s): return .slice(start: a, stop: b, step: s)
      case .value(let v): throw BuiltinError("a tensor index must be an integer or a slice, got \(v.brief)")
      }
    }
  }

  func listPositions(_ count: Int, _ key: Key) throws -> (positions: [Int], single: Bool) {
    switch key {
    case .index(let i?, _):
      let j = i < 0 ? i + count : i
      guard j >= 0 && j < count else { throw BuiltinError("index \(i) is out of range for a list of \(count)") }
      return ([j], true)
    case .slice(let a, let b, let s):
      let t = Tensor.arange(count)
      return (try t.indexed([.slice(start: a, stop: b, step: s)]).data.map { Int($0) }, false)
    case .index(nil, let x): throw BuiltinError("a list index must be an integer, got number \(formatNumber(x ?? 0))")
    case .value(let v): throw BuiltinError("a list index must be an integer, got \(v.brief)")
    }
  }

  func getIndex(_ obj: Value, _ keys: [Key]) throws -> Value {
    switch obj {
    case .tensor(let t):
      let r = try t.indexed(try tensorIndices(keys))
      // A single element reads as a number unless autograd tracks it.
      return r.rank == 0 && !r.requiresGrad ? .number(Double(r.data[0])) : .tensor(r)
    case .list(let l):
      guard keys.count == 1 else { throw BuiltinError("a list takes one index, got \(keys.count)") }
      let (ps, single) = try listPositions(l.items.count, keys[0])
      return single ? l.items[ps[0]] : .list(ps.map { l.items[$0] })
    case .string(let s):
      guard keys.count == 1 else { throw BuiltinError("a string takes one index, got \(keys.count)") }
      let chars = Array(s)
      let (ps, single) = try listPositions(chars.count, keys[0])
      return single ? .string(String(chars[ps[0]])) : .string(String(ps.map { chars[$0] }))
    case .record(let r):
      guard keys.count == 1, case .value(.string(let k)) = keys[0] else { throw BuiltinError("a record is indexed by a string key, r[\"name\"]") }
      guard let v = r[k] else { throw BuiltinError("record has no field \"\(k)\"" + didYouMean(k, r.keys)) }
      return v
    case .host(let h):
      guard keys.count == 1, case .value(.string(let k)) = keys[0], let v = h.field(k) else {
        throw BuiltinError("cannot index a \(h.typeName) this way")
      }
      return v
    case .range(let a, let b):
      guard keys.count == 1, case .index(let i?, _) = keys[0] else { throw BuiltinError("a range takes one integer index") }
      let n = max(0, b - a), j = i < 0 ? i + n : i
      guard j >= 0 && j < n else { throw BuiltinError("index \(i) is out of range for a range of \(n)") }
      return .number(Double(a + j))
    default:
      throw BuiltinError("cannot index \(obj.brief)")
    }
  }

  func setIndex(_ obj: Value, _ keys: [Key], _ value: Value) throws {
    switch obj {
    case .tensor(let t):
      let v: Tensor
      do { v = try Convert.tensor(value) } catch { throw BuiltinError("cannot store \(value.brief) in a tensor") }
      try t.assign(try tensorIndices(keys), v)
    case .list(let l):
      guard keys.count == 1 else { throw BuiltinError("a list takes one index, got \(keys.count)") }
      let (ps, single) = try listPositions(l.items.count, keys[0])
      guard single else { throw BuiltinError("assigning to a list slice is not supported; assign items one by one") }
      l.items[ps[0]] = value
    case .record(let r):
      guard keys.count == 1, case .value(.string(let k)) = keys[0] else { throw BuiltinError("a record is indexed by a string key, r[\"name\"]") }
      r[k] = value
    default:
      throw BuiltinError("cannot assign into \(obj.brief)")
    }
  }

  // MARK: - Calls

  /// A call: the callee, then the arguments, then the call, each in a
  /// function of its own so that only the one at work holds stack.
  @inline(never)
  func evaluateCall(_ expr: Expr, _ env: Environment) throws -> Value {
    guard case .call(let calleeExpr, let argExprs) = expr.kind else { return .none }
    let (callee, receiver) = try resolveCallee(calleeExpr, env)
    let (positional, named) = try evaluateArguments(argExprs, receiver, env)
    try checkInterrupt(expr.range)
    return try call(callee, positional, named: named, at: expr.range)
  }

  /// The function a call expression names, and the receiver of method sugar.
  @inline(never)
  func resolveCallee(_ calleeExpr: Expr, _ env: Environment) throws -> (Value, Value?) {
    var callee: Value
    var receiver: Value? = nil
    if case .field(let objExpr, let name) = calleeExpr.kind {
      // Method sugar: x.f(a) is f(x, a) unless x has a field f.
      let obj = try evaluate(objExpr, env)
      if case .record(let r) = obj, let v = r[name] {
        callee = v
      } else if case .host(let h) = obj, let v = h.field(name) {
        callee = v
      } else if let v = env.lookup(name) ?? registry[name].map(Value.builtin) {
        callee = v; receiver = obj
      } else {
        throw ScriptError(.runtime, "\(obj.brief) has no field or method '\(name)'" + didYouMean(name, registry.names), at: calleeExpr.range)
      }
    } else {
      callee = try evaluate(calleeExpr, env)
    }
    return (callee, receiver)
  }

  @inline(never)
  func evaluateArguments(_ argExprs: [Argument], _ receiver: Value?, _ env: Environment)
    throws -> ([Value], [(String, Value, SourceRange)]) {
    var positional: [Value] = receiver.map { [$0] } ?? []
    var named: [(String, Value, SourceRange)] = []
    for a in argExprs {
      let v = try evaluate(a.value, env)
      if let n = a.name { named.append((n, v, a.range)) } else { positional.append(v) }
    }
    return (positional, named)
  }

  /// Calls a function value with positional and named arguments.
  public func call(_ callee: Value, _ positional: [Value], named: [(String, Value, SourceRange)] = [],
                   at range: SourceRange) throws -> Value {
    switch callee {
    case .builtin(let b):
      let bound = try bindBuiltin(b, positional, named, range)
      return try located(range) { try b.body(Args(builtin: b, values: bound, interpreter: self)) }
    case .function(let c):
      return try callClosure(c, positional, named, range)
    case .host(let h):
      guard named.isEmpty else { throw ScriptError(.runtime, "a \(h.typeName) takes no named arguments", at: named[0].2) }
      guard let v = try located(range, { try h.call(positional, self) }) else {
        throw ScriptError(.runtime, "a \(h.typeName) cannot be called", at: range)
      }
      return v
    default:
      throw ScriptError(.runtime, "cannot call \(callee.brief)", at: range)
    }
  }

  /// Convenience for builtins that call back into script functions.
  public func call(_ callee: Value, _ args: [Value]) throws -> Value {
    try call(callee, args, at: currentStatement)
  }

  func bindBuiltin(_ b: Builtin, _ positional: [Value], _ named: [(String, Value, SourceRange)],
                   _ range: SourceRange) throws -> [String: Value] {
    var bound: [String: Value] = [:]
    var rest = positional[...]
    for p in b.params {
      if p.variadic { bound[p.name] = .list(Array(rest)); rest = []; break }
      if let v = rest.popFirst() { bound[p.name] = v }
    }
    if !rest.isEmpty {
      throw ScriptError(.runtime, "'\(b.name)' takes at most \(b.params.count) positional argument\(b.params.count == 1 ? "" : "s"), got \(positional.count)", at: range)
    }
    for (n, v, r) in named {
      guard b.params.contains(where: { $0.name == n && !$0.variadic }) else {
        throw ScriptError(.runtime, "unknown argument '\(n)' to '\(b.name)'" + didYouMean(n, b.params.map(\.name)), at: r)
      }
      if bound[n] != nil { throw ScriptError(.runtime, "argument '\(n)' to '\(b.name)' given twice", at: r) }
      bound[n] = v
    }
    for p in b.params where bound[p.name] == nil {
      if let d = p.defaultValue { bound[p.name] = d }
      else if p.variadic { bound[p.name] = .list([]) }
      else { throw ScriptError(.runtime, "missing argument '\(p.name)' to '\(b.name)'" + (b.hints[p.name].map { ": " + $0 } ?? ""), at: range) }
    }
    // The declaration is the check: convert every argument to its type.
    for p in b.params {
      let v = bound[p.name]!
      if p.variadic {
        guard case .list(let items) = v else { continue }
        var converted: [Value] = []
        for (i, item) in items.items.enumerated() {
          converted.append(try convertArgument(item, p, b, range, position: i + 1))
        }
        bound[p.name] = .list(converted)
      } else if v.isNil && p.acceptsNil {
        continue
      } else {
        bound[p.name] = try convertArgument(v, p, b, range, position: nil)
      }
    }
    return bound
  }

  /// `v` as parameter `p` of builtin `b` takes it, or the one error shape.
  func convertArgument(_ v: Value, _ p: BuiltinParam, _ b: Builtin, _ range: SourceRange, position: Int?) throws -> Value {
    switch p.type.convert(v) {
    case .success(let c): return c
    case .failure(let mismatch):
      let which = position.map { "'\(p.name)' (item \($0))" } ?? "'\(p.name)'"
      let detail = mismatch.detail.map { ": \($0)" } ?? ""
      throw ScriptError(.runtime, "bad argument \(which) to '\(b.name)': expected \(p.type.expectation), got \(v.brief)\(detail)", at: range)
    }
  }

  func callClosure(_ c: Closure, _ positional: [Value], _ named: [(String, Value, SourceRange)],
                   _ range: SourceRange) throws -> Value {
    let decl = c.decl
    guard depth < Interpreter.maxCallDepth else {
      throw ScriptError(.runtime, "recursion too deep: more than \(Interpreter.maxCallDepth) nested calls (in '\(decl.name)')", at: range)
    }
    guard positional.count <= decl.params.count else {
      throw ScriptError(.runtime, "'\(decl.name)' takes \(decl.params.count) argument\(decl.params.count == 1 ? "" : "s"), got \(positional.count)", at: range)
    }
    let local = Environment(parent: c.env)
    for (p, v) in zip(decl.params, positional) { local[local: p.name] = v }
    for (n, v, r) in named {
      guard decl.params.contains(where: { $0.name == n }) else {
        throw ScriptError(.runtime, "unknown argument '\(n)' to '\(decl.name)'" + didYouMean(n, decl.params.map(\.name)), at: r)
      }
      if local[local: n] != nil { throw ScriptError(.runtime, "argument '\(n)' to '\(decl.name)' given twice", at: r) }
      local[local: n] = v
    }
    for p in decl.params where local[local: p.name] == nil {
      guard let d = p.defaultValue else {
        throw ScriptError(.runtime, "missing argument '\(p.name)' to '\(decl.name)'", at: range)
      }
      local[local: p.name] = try evaluate(d, local)
    }
    depth += 1
    let savedStatement = currentStatement
    defer { depth -= 1; currentStatement = savedStatement; CycleCollector.collectIfDue() }
    do {
      return try executeBlock(decl.body, local)
    } catch ControlFlow.returning(let v) {
      return v
    } catch var e as ScriptError where e.kind == .runtime {
      e.frames.append((decl.name, currentStatement))
      throw e
    } catch ControlFlow.breaking(let r) {
      throw ScriptError(.runtime, "'break' outside a loop", at: r)
    } catch ControlFlow.continuing(let r) {
      throw ScriptError(.runtime, "'continue' outside a loop", at: r)
    }
  }
}
