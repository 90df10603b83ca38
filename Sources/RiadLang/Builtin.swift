import RiadTensor

/// One parameter of a builtin: its name, the type it accepts (which is also
/// its check, `ParamType`), its default (nil when required) and a one-line help.
public struct BuiltinParam {
  public let name: String
  public let type: ParamType
  public let defaultValue: Value?
  public let defaultText: String?
  public let help: String
  /// Collects every remaining positional argument into a list (each checked against `type`).
  public let variadic: Bool

  public init(_ name: String, _ type: ParamType, _ help: String, default value: Value? = nil,
              shown: String? = nil, variadic: Bool = false) {
    self.name = name
    self.type = type
    self.help = help
    self.defaultValue = value
    self.defaultText = shown ?? value.map { Format.repr($0) }
    self.variadic = variadic
  }

  public var isRequired: Bool { defaultValue == nil && !variadic }

  /// Whether nil is a fine value: the default is nil, or the type allows it.
  var acceptsNil: Bool {
    if case .none? = defaultValue { return true }
    if case .optional = type { return true }
    return type == .any
  }
}

/// A builtin function, declared once: the registry derives argument
/// checking, `help`, completion and `riad docs` from this declaration.
public struct Builtin {
  public let name: String
  public let category: String
  public let params: [BuiltinParam]
  public let summary: String
  public let discussion: String
  public let example: String
  let body: (Args) throws -> Value

  /// What to say, besides the name, when a required argument is missing
  /// (the usual reason for it: a habit from another library).
  public let hints: [String: String]

  public init(_ name: String, category: String, params: [BuiltinParam] = [], summary: String,
              discussion: String = "", example: String, hints: [String: String] = [:], _ body: @escaping (Args) throws -> Value) {
    self.name = name; self.category = category; self.params = params; self.summary = summary
    self.discussion = discussion; self.example = example; self.hints = hints; self.body = body
  }

  /// `name(a, b: 2)`: the call form shown in help and docs.
  public var signature: String {
    let parts = params.map { p -> String in
      if p.variadic { return "\(p.name)…" }
      if let d = p.defaultText { return "\(p.name): \(d)" }
      return p.name
    }
    return "\(name)(\(parts.joined(separator: ", ")))"
  }
}

/// An error raised by a builtin; the interpreter adds the call's location.
public struct BuiltinError: Error, CustomStringConvertible {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// The bound arguments of one builtin call. Binding has already converted
/// each argument to its parameter's declared type (`ParamType`), so these
/// accessors only take the values out; the one left to throw is a builtin
/// reading a parameter with an accessor its declaration does not match.
public struct Args {
  public let builtin: Builtin
  public let values: [String: Value]
  public let interpreter: Interpreter

  func bad(_ name: String, _ expected: String, _ got: Value) -> BuiltinError {
    BuiltinError("bad argument '\(name)' to '\(builtin.name)': expected \(expected), got \(got.brief)")
  }

  public subscript(name: String) -> Value { values[name] ?? .none }

  public func isNil(_ name: String) -> Bool { self[name].isNil }

  public func number(_ name: String) throws -> Double {
    guard case .number(let v) = self[name] else { throw bad(name, "a number", self[name]) }
    return v
  }

  public func optionalNumber(_ name: String) throws -> Double? { isNil(name) ? nil : try number(name) }

  public func int(_ name: String) throws -> Int {
    let v = try number(name)
    guard v == v.rounded(), abs(v) < 1e15 else { throw bad(name, "an integer", self[name]) }
    return Int(v)
  }

  public func optionalInt(_ name: String) throws -> Int? { isNil(name) ? nil : try int(name) }

  public func float(_ name: String) throws -> Float { Float(try number(name)) }

  public func bool(_ name: String) throws -> Bool {
    guard case .bool(let b) = self[name] else { throw bad(name, "true or false", self[name]) }
    return b
  }

  public func string(_ name: String) throws -> String {
    guard case .string(let s) = self[name] else { throw bad(name, "a string", self[name]) }
    return s
  }

  public func optionalString(_ name: String) throws -> String? { isNil(name) ? nil : try string(name) }

  public func list(_ name: String) throws -> [Value] {
    guard case .list(let l) = self[name] else { throw bad(name, "a list", self[name]) }
    return l.items
  }

  public func record(_ name: String) throws -> RecordBox {
    guard case .record(let r) = self[name] else { throw bad(name, "a record", self[name]) }
    return r
  }

  public func function(_ name: String) throws -> Value {
    switch self[name] {
    case .function, .builtin, .host: return self[name]
    case let v: throw bad(name, "a function", v)
    }
  }

  public func tensor(_ name: String) throws -> Tensor {
    guard case .tensor(let t) = self[name] else { throw bad(name, "a tensor", self[name]) }
    return t
  }

  public func optionalTensor(_ name: String) throws -> Tensor? { isNil(name) ? nil : try tensor(name) }

  /// A shape, extents or integers parameter as Ints.
  public func ints(_ name: String) throws -> [Int] {
    try list(name).map { v in
      guard case .number(let x) = v, x == x.rounded() else { throw bad(name, "a list of integers", self[name]) }
      return Int(x)
    }
  }

  /// A `.shape` parameter.
  public func shape(_ name: String) throws -> [Int] { try ints(name) }

  /// A `.sides` parameter: height and width.
  public func sides(_ name: String) throws -> (Int, Int) {
    let s = try ints(name)
    return (s[0], s[1])
  }

  public func optionalSides(_ name: String) throws -> (Int, Int)? { isNil(name) ? nil : try sides(name) }

  /// A `.pair` parameter.
  public func pair(_ name: String) throws -> (Double, Double) {
    let r = try list(name)
    guard r.count == 2, case .number(let a) = r[0], case .number(let b) = r[1] else { throw bad(name, "two numbers", self[name]) }
    return (a, b)
  }

  /// A `.pair` parameter, or nil.
  public func optionalPair(_ name: String) throws -> (Double, Double)? { isNil(name) ? nil : try pair(name) }

  /// A `.tensors` parameter.
  public func tensors(_ name: String) throws -> [Tensor] {
    try list(name).map { v in
      guard case .tensor(let t) = v else { throw bad(name, "a list of tensors", self[name]) }
      return t
    }
  }

  /// A `.numbers` parameter.
  public func numbers(_ name: String) throws -> [Double] {
    try list(name).map { v in
      guard case .number(let x) = v else { throw bad(name, "numbers", self[name]) }
      return x
    }
  }

  /// The most elements one tensor may have (2³¹, 8 GiB of float32): a typo
  /// such as `zeros([100000, 100000])` gives an error instead of exhausting memory.
  public static let maxElements = 1 << 31

  /// A host object of the given class.
  public func host<T: HostObject>(_ name: String, _ type: T.Type) throws -> T {
    guard case .host(let h) = self[name], let t = h as? T else { throw bad(name, String(describing: T.self), self[name]) }
    return t
  }

  /// A seed: nil, or a non-negative integer (declare it `.integer(min: 0)`).
  public func seed(_ name: String = "seed") throws -> UInt64? {
    guard let v = try optionalInt(name) else { return nil }
    return UInt64(v)
  }
}

/// Conversions between script values and tensors.
public enum Convert {
  /// A number, a bool, a tensor or a rectangular nested list of numbers.
  public static func tensor(_ v: Value) throws -> Tensor {
    switch v {
    case .tensor(let t): return t
    case .number(let x): return Tensor(scalar: Float(x))
    case .bool(let b): return Tensor(scalar: b ? 1 : 0)
    case .range(let a, let b):
      guard b - a <= Args.maxElements else { throw BuiltinError("a range of \(b - a) numbers is too long for a tensor") }
      return Tensor(shape: [max(0, b - a)], data: (a..<max(a, b)).map(Float.init))
    case .list(let l):
      if l.items.isEmpty { return Tensor(shape: [0], data: []) }
      let parts = try l.items.map { try tensor($0) }
      guard parts.allSatisfy({ $0.shape == parts[0].shape }) else {
        throw BuiltinError("the nested lists are not rectangular (\(parts.map { $0.shape.shapeString }.joined(separator: " vs ")))")
      }
      return Tensor(shape: [parts.count] + parts[0].shape, data: parts.flatMap(\.data))
    default: throw BuiltinError("cannot make a tensor from \(v.brief)")
    }
  }

  /// The numbers of a value a `.numbers` parameter has converted.
  public static func numbers(_ v: Value) -> [Double] {
    guard case .list(let l) = v else { return [] }
    return l.items.compactMap { if case .number(let x) = $0 { return x }; return nil }
  }

  /// A tensor as nested lists of numbers (a scalar as a number).
  public static func list(_ t: Tensor) -> Value {
    if t.rank == 0 { return .number(Double(t.data[0])) }
    func build(_ dim: Int, _ offset: Int) -> Value {
      let n = t.shape[dim]
      let stride = t.shape[(dim + 1)...].reduce(1, *)
      if dim == t.rank - 1 { return .list((0..<n).map { .number(Double(t.data[offset + $0])) }) }
      return .list((0..<n).map { build(dim + 1, offset + $0 * stride) })
    }
    return build(0, 0)
  }
}

/// Every builtin by name; the single source for calls, help, completion and docs.
public final class BuiltinRegistry {
  public private(set) var all: [Builtin] = []
  private var byName: [String: Builtin] = [:]

  public init() {}

  public func register(_ builtins: [Builtin]) {
    for b in builtins {
      precondition(byName[b.name] == nil, "builtin '\(b.name)' declared twice")
      for p in b.params {
        guard let d = p.defaultValue, !d.isNil else { continue }
        guard case .success = p.type.convert(d) else {
          preconditionFailure("builtin '\(b.name)': the default of '\(p.name)' is not \(p.type.expectation)")
        }
      }
      byName[b.name] = b
      all.append(b)
    }
  }

  public subscript(name: String) -> Builtin? { byName[name] }
  public var names: [String] { all.map(\.name) }

  /// The categories in declaration order.
  public var categories: [String] {
    var seen: [String] = []
    for b in all where !seen.contains(b.category) { seen.append(b.category) }
    return seen
  }

  /// `help(name)` and `?name`: signature, summary, parameters, discussion, example.
  public func help(_ b: Builtin) -> String {
    var s = "\(b.signature)\n  \(b.summary)\n"
    if !b.params.isEmpty {
      s += "\n"
      for p in b.params { s += "  \(p.name) (\(p.type.name)\(p.defaultText.map { ", default \($0)" } ?? "")): \(p.help)\n" }
    }
    if !b.discussion.isEmpty { s += "\n" + b.discussion.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n") + "\n" }
    s += "\nexample:\n" + b.example.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
    return s
  }

  /// The Markdown reference (`riad docs`, `docs/reference.md`).
  public func markdown() -> String {
    var s = "# riad builtin reference\n\n"
    s += "Generated by `riad docs` from the builtin registry; do not edit by hand.\n"
    s += "Named arguments are shown with their defaults. Shapes: images `[C,H,W]`, batches `[N,C,H,W]`.\n\n"
    for c in categories {
      s += "- [\(c)](#\(c.lowercased().replacingOccurrences(of: " ", with: "-")))\n"
    }
    for c in categories {
      s += "\n## \(c)\n"
      for b in all where b.category == c {
        s += "\n### `\(b.signature)`\n\n\(b.summary)\n\n"
        if !b.params.isEmpty {
          s += "| parameter | type | default | meaning |\n|---|---|---|---|\n"
          for p in b.params {
            s += "| `\(p.name)` | \(p.type.name) | \(p.defaultText.map { "`\($0)`" } ?? (p.variadic ? "any number" : "required")) | \(p.help) |\n"
          }
          s += "\n"
        }
        if !b.discussion.isEmpty { s += b.discussion + "\n\n" }
        s += "```riad\n\(b.example)\n```\n"
      }
    }
    return s
  }
}
