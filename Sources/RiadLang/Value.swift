import RiadTensor

/// An object the host hands to scripts: a model, an optimizer, a dataset.
/// It may expose fields (`ds.train`) and may be callable (`net(x)`).
public protocol HostObject: AnyObject {
  /// What `type(x)` returns: `"model"`, `"optimizer"`, `"dataset"`.
  var typeName: String { get }
  /// The one-line form used when the value is printed.
  var summary: String { get }
  var fieldNames: [String] { get }
  func field(_ name: String) -> Value?
  /// `obj(args…)`, or nil when the object cannot be called.
  func call(_ args: [Value], _ interpreter: Interpreter) throws -> Value?
}

extension HostObject {
  public var fieldNames: [String] { [] }
  public func field(_ name: String) -> Value? { nil }
  public func call(_ args: [Value], _ interpreter: Interpreter) throws -> Value? { nil }
}

/// A mutable list shared by reference, as in Python and Julia.
public final class ListBox {
  public var items: [Value]
  public init(_ items: [Value]) {
    self.items = items
    CycleCollector.track(self)
  }
  deinit { CycleCollector.untrack(self) }
}

/// A record: fields in insertion order, shared by reference.
public final class RecordBox {
  public private(set) var keys: [String] = []
  private var values: [String: Value] = [:]

  public init(_ pairs: [(String, Value)] = []) {
    for (k, v) in pairs { self[k] = v }
    CycleCollector.track(self)
  }
  deinit { CycleCollector.untrack(self) }

  public subscript(key: String) -> Value? {
    get { values[key] }
    set {
      if let v = newValue {
        if values[key] == nil { keys.append(key) }
        values[key] = v
      } else if values.removeValue(forKey: key) != nil {
        keys.removeAll { $0 == key }
      }
    }
  }

  public var pairs: [(String, Value)] { keys.map { ($0, values[$0]!) } }

  var fieldValues: Dictionary<String, Value>.Values { values.values }
  func removeAll() { values.removeAll(); keys.removeAll() }
}

/// A user function with the environment it closes over. Inside that
/// environment's own variables it holds the environment weakly (see
/// `Environment`); everywhere else strongly.
public final class Closure {
  public let decl: FunctionDecl
  private var strongScope: Environment?
  private weak var weakScope: Environment?

  init(_ decl: FunctionDecl, _ env: Environment) {
    self.decl = decl; strongScope = env; weakScope = nil
    CycleCollector.track(self)
  }

  deinit { CycleCollector.untrack(self) }
  private init(_ decl: FunctionDecl, weakly env: Environment) {
    self.decl = decl; strongScope = nil; weakScope = env
    CycleCollector.track(self)
  }

  /// The scope the function was defined in. A weak closure is only ever
  /// read out of that scope, so the scope is alive whenever this is asked.
  var env: Environment { strongScope ?? weakScope! }

  var holdsScopeWeakly: Bool { strongScope == nil }
  func holdingScopeWeakly() -> Closure { holdsScopeWeakly ? self : Closure(decl, weakly: env) }
  func holdingScope(_ scope: Environment) -> Closure { Closure(decl, scope) }

  /// The same function: the same declaration closing over the same scope.
  public func isSame(as other: Closure) -> Bool { decl === other.decl && env === other.env }
}

/// Every value a riad program can hold.
public enum Value {
  case number(Double)
  case string(String)
  case bool(Bool)
  case none
  case list(ListBox)
  case record(RecordBox)
  /// The integers start..<end.
  case range(Int, Int)
  case tensor(Tensor)
  case function(Closure)
  case builtin(Builtin)
  case host(HostObject)

  public static func list(_ items: [Value]) -> Value { .list(ListBox(items)) }
  public static func record(_ pairs: [(String, Value)]) -> Value { .record(RecordBox(pairs)) }

  /// `type(x)`.
  public var typeName: String {
    switch self {
    case .number: return "number"
    case .string: return "string"
    case .bool: return "bool"
    case .none: return "nil"
    case .list: return "list"
    case .record: return "record"
    case .range: return "range"
    case .tensor: return "tensor"
    case .function, .builtin: return "function"
    case .host(let h): return h.typeName
    }
  }

  /// How a value is described in a message: `number 1.5`, `a list of 3`, `tensor [2, 3]`.
  public var brief: String {
    switch self {
    case .number(let v): return "number \(formatNumber(v))"
    case .string(let s): return "string \"\(s.count > 30 ? String(s.prefix(30)) + "…" : s)\""
    case .bool(let b): return "bool \(b)"
    case .none: return "nil"
    case .list(let l): return "a list of \(l.items.count)"
    case .record: return "a record"
    case .range(let a, let b): return "range \(a)..<\(b)"
    case .tensor(let t): return "tensor \(t.shape.shapeString)"
    case .function, .builtin: return "a function"
    case .host(let h): return "a \(h.typeName)"
    }
  }

  public var isNil: Bool { if case .none = self { return true }; return false }
}

/// Structural equality for `==` on non-tensor values.
public func valuesEqual(_ a: Value, _ b: Value) -> Bool {
  switch (a, b) {
  case let (.number(x), .number(y)): return x == y
  case let (.string(x), .string(y)): return x == y
  case let (.bool(x), .bool(y)): return x == y
  case (.none, .none): return true
  case let (.list(x), .list(y)): return x === y || (x.items.count == y.items.count && zip(x.items, y.items).allSatisfy(valuesEqual))
  case let (.record(x), .record(y)):
    return x === y || (x.keys == y.keys && x.keys.allSatisfy { valuesEqual(x[$0]!, y[$0]!) })
  case let (.range(a1, b1), .range(a2, b2)): return a1 == a2 && b1 == b2
  case let (.tensor(x), .tensor(y)): return x === y || (x.shape == y.shape && x.data == y.data)
  case let (.function(x), .function(y)): return x.isSame(as: y)
  case let (.builtin(x), .builtin(y)): return x.name == y.name
  case let (.host(x), .host(y)): return x === y
  default: return false
  }
}

extension Value {
  /// Calls `body` with the object of this value the cycle collector tracks, if any.
  func forEachCollectable(_ body: (AnyObject) -> Void) {
    switch self {
    case .list(let l): body(l)
    case .record(let r): body(r)
    case .function(let c): body(c)
    default: break
    }
  }
}

extension ListBox: Collectable {
  func forEachReference(_ body: (AnyObject) -> Void) { for v in items { v.forEachCollectable(body) } }
  func dropReferences() { items.removeAll() }
}

extension RecordBox: Collectable {
  func forEachReference(_ body: (AnyObject) -> Void) { for v in fieldValues { v.forEachCollectable(body) } }
  func dropReferences() { removeAll() }
}

extension Closure: Collectable {
  func forEachReference(_ body: (AnyObject) -> Void) { if let strongScope { body(strongScope) } }
  func dropReferences() { strongScope = nil }
}
