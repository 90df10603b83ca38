import RiadTensor

/// Variables of one scope. Blocks share their function's scope; each call
/// gets a new one whose parent is the scope the function was defined in.
///
/// A function stored in the scope it closes over (`fn g() {…}` inside a
/// function, or `h = fn() {…}` there) would make a reference cycle, scope →
/// function → scope, and keep the whole scope (its tensors too) alive for
/// ever. Such a function is stored holding its scope weakly, and every read
/// hands out one that holds it strongly: the scope lives exactly as long as
/// someone outside it can reach it. Cycles through lists and records (a
/// list of functions kept in their own scope) are left to `CycleCollector`.
public final class Environment {
  private var slots: [String: Value] = [:]
  let parent: Environment?

  init(parent: Environment?) {
    self.parent = parent
    CycleCollector.track(self)
  }

  deinit { CycleCollector.untrack(self) }

  var isGlobal: Bool { parent == nil }

  /// This scope's own variable `name` (not its parents').
  subscript(local name: String) -> Value? {
    get {
      guard let v = slots[name] else { return nil }
      if case .function(let c) = v, c.holdsScopeWeakly { return .function(c.holdingScope(self)) }
      return v
    }
    set {
      if let newValue, case .function(let c) = newValue, c.env === self {
        slots[name] = .function(c.holdingScopeWeakly())
      } else {
        slots[name] = newValue
      }
    }
  }

  public func lookup(_ name: String) -> Value? {
    var e: Environment? = self
    while let env = e { if let v = env[local: name] { return v }; e = env.parent }
    return nil
  }

  /// Assignment updates the nearest binding in an enclosing function scope;
  /// otherwise it creates a local. Inside a function, globals are read-only
  /// (assigning creates a local), as in Python without `global`.
  func assign(_ name: String, _ value: Value) {
    var e: Environment? = self
    while let env = e, !env.isGlobal {
      if env.slots[name] != nil { env[local: name] = value; return }
      e = env.parent
    }
    self[local: name] = value
  }

  /// Sets a variable in this scope directly.
  public func assignGlobal(_ name: String, _ value: Value) { self[local: name] = value }

  /// Removes every variable of this scope (`:reset`).
  public func clear() { slots.removeAll() }

  /// The names visible from this scope, sorted.
  public var names: [String] {
    var all = Set<String>()
    var e: Environment? = self
    while let env = e { all.formUnion(env.slots.keys); e = env.parent }
    return all.sorted()
  }
}

extension Environment: Collectable {
  func forEachReference(_ body: (AnyObject) -> Void) {
    if let parent { body(parent) }
    for v in slots.values { v.forEachCollectable(body) }
  }

  func dropReferences() { slots.removeAll() }
}
