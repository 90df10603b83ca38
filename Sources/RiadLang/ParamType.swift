import RiadTensor

/// What a builtin parameter accepts. The declaration is the check: when a
/// call is bound, every argument is converted to its parameter's type (a
/// nested list becomes a tensor, a range a list) or rejected with one
/// message shape for every builtin:
/// `bad argument 'k' to 'masks': expected an integer ≥ 1, got number 1.5`.
/// Builtin bodies then read arguments that are known to fit.
public enum ParamType: Equatable {
  /// Anything, unchanged.
  case any
  /// A number; a bool counts as 0 or 1 and a one-element tensor as its value.
  case number
  /// A number greater than zero.
  case positive
  /// A number other than zero.
  case nonzero
  /// An integral number, at least `min` when given.
  case integer(min: Int?)
  /// One of these integers.
  case integerIn([Int])
  case bool
  case string
  /// One of these strings.
  case choice([String])
  /// A tensor; a number, a bool, a range or a rectangular nested list converts.
  case tensor
  /// A number or a tensor, unchanged (functions that work on both).
  case numberOrTensor
  /// A shape: a number or a list of non-negative integers (or a 1-D tensor).
  case shape
  /// reshape's extents: a number or a list of integers, one of which may be -1.
  case extents
  /// An image side or `[h, w]`: one or two positive integers.
  case sides
  /// Two numbers, described as `[lo, hi]`, `[beta1, beta2]`, ….
  case pair(String)
  /// A list; a range or a 1-D tensor converts.
  case list
  /// A list of tensors (each item converts as `.tensor` does).
  case tensors
  /// A tensor of one of these ranks, described as `what`
  /// ("an image [C,H,W] or a batch [N,C,H,W]").
  case ranked([Int], String)
  /// A list of integers, each at least `min` when given.
  case integers(min: Int?)
  /// Numbers to plot: a list of numbers (or one-element tensors), a range or a tensor.
  case numbers
  /// A list, string, record, range or tensor, unchanged (what has a length).
  case collection
  case record
  /// A record whose every field converts to the given type.
  indirect case recordOf(ParamType)
  /// A function, a builtin, or a model (which is callable).
  case function
  /// A host object of this type name (`"model"`, `"optimizer"`, `"dataset"`),
  /// described as `what` ("a model (from unet or load)").
  case host(String, what: String)
  /// A model, or a list of param tensors (what an optimizer updates).
  case parameters
  /// The first of these that accepts the value.
  case either([ParamType])
  /// nil, or the wrapped type (for a required argument that may be nil).
  indirect case optional(ParamType)

  // Computed, not stored: a stored enum with a heap payload keeps the
  // payload's pointer with tag bits in it, which LeakSanitizer cannot see.
  public static var integer: ParamType { ParamType.integer(min: nil) }
  public static var model: ParamType { ParamType.host("model", what: "a model (from unet or load)") }
  public static var optimizer: ParamType { ParamType.host("optimizer", what: "an optimizer (from adam or sgd)") }
  public static var dataset: ParamType { ParamType.host("dataset", what: "a dataset (from mvtec or synthetic)") }

  /// How the type reads after "expected": `an integer ≥ 1`, `a tensor`.
  public var expectation: String {
    switch self {
    case .any: return "any value"
    case .number: return "a number"
    case .positive: return "a positive number"
    case .nonzero: return "a number other than 0"
    case .integer(let min?): return "an integer ≥ \(min)"
    case .integer(nil): return "an integer"
    case .integerIn(let xs): return ParamType.alternatives(xs.map(String.init))
    case .bool: return "true or false"
    case .string: return "a string"
    case .choice(let xs): return "one of " + ParamType.alternatives(xs.map { "\"\($0)\"" })
    case .tensor: return "a tensor (or a number or nested lists of numbers)"
    case .numberOrTensor: return "a number or a tensor"
    case .shape: return "a shape (a number or a list of non-negative integers)"
    case .extents: return "a list of integers (one may be -1)"
    case .sides: return "a positive integer or [h, w]"
    case .pair(let form): return form
    case .list: return "a list"
    case .tensors: return "a list of tensors"
    case .ranked(_, let what): return what
    case .integers(let min?): return "a list of integers ≥ \(min)"
    case .integers(nil): return "a list of integers"
    case .numbers: return "a list or tensor of numbers"
    case .collection: return "a list, string, record, range or tensor"
    case .record: return "a record"
    case .recordOf(let t): return "a record of \(t.name)"
    case .function: return "a function"
    case .host(_, let what): return what
    case .parameters: return "a model or a list of param tensors"
    case .either(let ts): return ts.map(\.expectation).joined(separator: ", or ")
    case .optional(let t): return t.expectation + " (or nil)"
    }
  }

  /// "a, b or c".
  static func alternatives(_ xs: [String]) -> String {
    xs.count <= 1 ? xs.joined() : xs.dropLast().joined(separator: ", ") + " or " + xs.last!
  }

  /// The short form in `help` and the reference's type column.
  public var name: String {
    switch self {
    case .any: return "any"
    case .number: return "number"
    case .positive: return "number > 0"
    case .nonzero: return "number ≠ 0"
    case .integer(let min?): return "integer ≥ \(min)"
    case .integer(nil): return "integer"
    case .integerIn(let xs): return xs.map(String.init).joined(separator: " or ")
    case .bool: return "bool"
    case .string: return "string"
    case .choice: return "string"
    case .tensor: return "tensor"
    case .numberOrTensor: return "number or tensor"
    case .shape: return "shape"
    case .extents: return "list of integers"
    case .sides: return "integer or [h, w]"
    case .pair(let form): return form
    case .list: return "list"
    case .tensors: return "list of tensors"
    case .ranked: return "tensor"
    case .integers(let min?): return "list of integers ≥ \(min)"
    case .integers(nil): return "list of integers"
    case .numbers: return "list or tensor"
    case .collection: return "list, string, record, range or tensor"
    case .record: return "record"
    case .recordOf(let t): return "record of \(t.name)"
    case .function: return "function"
    case .host(let type, _): return type
    case .parameters: return "model or list"
    case .either(let ts): return ts.map(\.name).joined(separator: " or ")
    case .optional(let t): return t.name + " or nil"
    }
  }

  /// Why a value does not fit, beyond "expected …, got …" (a ragged list).
  public struct Mismatch: Error {
    public let detail: String?
  }

  /// The value converted to this type, or a mismatch.
  public func convert(_ v: Value) -> Result<Value, Mismatch> {
    func fail(_ detail: String? = nil) -> Result<Value, Mismatch> { .failure(Mismatch(detail: detail)) }
    func integral(_ x: Double) -> Bool { x == x.rounded() && abs(x) < 1e15 }
    switch self {
    case .any: return .success(v)
    case .number:
      switch v {
      case .number: return .success(v)
      case .bool(let b): return .success(.number(b ? 1 : 0))
      case .tensor(let t) where t.count == 1: return .success(.number(Double(t.data[0])))
      default: return fail()
      }
    case .positive:
      guard case .success(.number(let x)) = ParamType.number.convert(v), x > 0, x.isFinite else { return fail() }
      return .success(.number(x))
    case .nonzero:
      guard case .success(.number(let x)) = ParamType.number.convert(v), x != 0 else { return fail() }
      return .success(.number(x))
    case .integer(let min):
      guard case .success(.number(let x)) = ParamType.number.convert(v), integral(x) else { return fail() }
      if let min, Int(x) < min { return fail() }
      return .success(.number(x))
    case .integerIn(let xs):
      guard case .success(.number(let x)) = ParamType.integer.convert(v), xs.contains(Int(x)) else { return fail() }
      return .success(.number(x))
    case .bool:
      if case .bool = v { return .success(v) }
      return fail()
    case .string:
      if case .string = v { return .success(v) }
      return fail()
    case .choice(let xs):
      if case .string(let s) = v, xs.contains(s) { return .success(v) }
      return fail()
    case .tensor:
      do { return .success(.tensor(try Convert.tensor(v))) } catch let e as BuiltinError where e.message.contains("rectangular") {
        return fail(e.message)
      } catch { return fail() }
    case .numberOrTensor:
      switch v {
      case .number, .tensor: return .success(v)
      case .bool(let b): return .success(.number(b ? 1 : 0))
      default: return fail()
      }
    case .shape:
      let extents: [Double]
      switch v {
      case .number(let x): extents = [x]
      case .list(let l):
        var xs: [Double] = []
        for item in l.items {
          guard case .number(let x) = item else { return fail() }
          xs.append(x)
        }
        extents = xs
      case .tensor(let t) where t.rank <= 1: extents = t.data.map(Double.init)
      default: return fail()
      }
      guard extents.allSatisfy({ integral($0) && $0 >= 0 }) else { return fail() }
      let elements = extents.reduce(1.0, *)
      guard elements <= Double(Args.maxElements) else {
        return fail("\(Format.repr(v)) has \(formatNumber(elements)) elements, more than riad allows in one tensor (\(Args.maxElements))")
      }
      return .success(.list(extents.map { .number($0) }))
    case .extents:
      if case .number = v { return ParamType.extents.convert(.list([v])) }
      guard case .success(.list(let l)) = ParamType.list.convert(v) else { return fail() }
      var xs: [Double] = []
      for item in l.items {
        guard case .number(let x) = item, integral(x), x >= -1 else { return fail() }
        xs.append(x)
      }
      guard xs.filter({ $0 == -1 }).count <= 1 else { return fail("at most one extent may be -1") }
      return .success(.list(xs.map { .number($0) }))
    case .sides:
      let xs: [Double]
      switch v {
      case .number(let x): xs = [x]
      case .list(let l) where l.items.count == 2:
        guard case .number(let h) = l.items[0], case .number(let w) = l.items[1] else { return fail() }
        xs = [h, w]
      default: return fail()
      }
      guard xs.allSatisfy({ integral($0) && $0 >= 1 }) else { return fail() }
      return .success(.list([.number(xs[0]), .number(xs.count == 2 ? xs[1] : xs[0])]))
    case .pair:
      guard case .list(let l) = v, l.items.count == 2,
            case .success(let lo) = ParamType.number.convert(l.items[0]),
            case .success(let hi) = ParamType.number.convert(l.items[1]) else { return fail() }
      return .success(.list([lo, hi]))
    case .list:
      switch v {
      case .list: return .success(v)
      case .range(let a, let b):
        guard b - a <= 10_000_000 else { return fail("a range of more than 10,000,000 numbers is too long for a list") }
        return .success(.list((a..<max(a, b)).map { .number(Double($0)) }))
      case .tensor(let t) where t.rank == 1: return .success(.list(t.data.map { .number(Double($0)) }))
      default: return fail()
      }
    case .tensors:
      guard case .success(.list(let l)) = ParamType.list.convert(v) else { return fail() }
      var ts: [Value] = []
      for (i, item) in l.items.enumerated() {
        guard case .success(let t) = ParamType.tensor.convert(item) else { return fail("item \(i) is \(item.brief)") }
        ts.append(t)
      }
      return .success(.list(ts))
    case .ranked(let ranks, _):
      guard case .success(.tensor(let t)) = ParamType.tensor.convert(v) else { return fail() }
      guard ranks.contains(t.rank) else { return fail() }
      return .success(.tensor(t))
    case .integers(let min):
      guard case .success(.list(let l)) = ParamType.list.convert(v) else { return fail() }
      for item in l.items {
        guard case .number(let x) = item, integral(x), min.map({ Int(x) >= $0 }) ?? true else { return fail() }
      }
      return .success(.list(l))
    case .numbers:
      switch v {
      case .tensor(let t): return .success(.list(t.data.map { .number(Double($0)) }))
      case .range: return ParamType.list.convert(v)
      case .list(let l):
        var xs: [Value] = []
        for item in l.items {
          switch item {
          case .number: xs.append(item)
          case .tensor(let t) where t.count == 1: xs.append(.number(Double(t.data[0])))
          default: return fail("it holds \(item.brief)")
          }
        }
        return .success(.list(xs))
      default: return fail()
      }
    case .collection:
      switch v {
      case .list, .string, .record, .range, .tensor: return .success(v)
      default: return fail()
      }
    case .record:
      if case .record = v { return .success(v) }
      return fail()
    case .recordOf(let t):
      guard case .record(let r) = v else { return fail() }
      var fields: [(String, Value)] = []
      for (k, field) in r.pairs {
        guard case .success(let c) = t.convert(field) else { return fail("field \(k) is \(field.brief)") }
        fields.append((k, c))
      }
      return .success(.record(fields))
    case .function:
      switch v {
      case .function, .builtin: return .success(v)
      case .host(let h) where h.typeName == "model": return .success(v)
      default: return fail()
      }
    case .host(let type, _):
      if case .host(let h) = v, h.typeName == type { return .success(v) }
      return fail()
    case .parameters:
      switch v {
      case .host(let h) where h.typeName == "model": return .success(v)
      case .list(let l):
        for item in l.items {
          guard case .tensor(let t) = item, t.requiresGrad, t.gradOp == nil else { return fail("the list holds \(item.brief), not a param tensor") }
        }
        return .success(v)
      default: return fail()
      }
    case .either(let ts):
      for t in ts { if case .success(let c) = t.convert(v) { return .success(c) } }
      return fail()
    case .optional(let t):
      return v.isNil ? .success(v) : t.convert(v)
    }
  }
}
