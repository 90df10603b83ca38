import RiadBuiltins
import RiadLang
import RiadTensor
import RiadTestSupport
import XCTest

/// A builtin's parameter declarations are its argument checks: each type
/// converts what fits and rejects the rest, and every builtin reports a
/// rejected argument in the same words.
final class BuiltinParameterTests: RiadTestCase {
  func converted(_ type: ParamType, _ v: Value) -> Value? {
    if case .success(let c) = type.convert(v) { return c }
    return nil
  }

  func accepts(_ type: ParamType, _ v: Value) -> Bool { converted(type, v) != nil }

  func testEachTypeConvertsWhatFitsAndRejectsTheRest() throws {
    let one = Value.tensor(Tensor(shape: [1], data: [3]))
    XCTAssertEqual(Format.repr(try XCTUnwrap(converted(.number, .bool(true)))), "1")
    XCTAssertEqual(Format.repr(try XCTUnwrap(converted(.number, one))), "3")
    XCTAssertFalse(accepts(.number, .string("1")))
    XCTAssertTrue(accepts(.integer(min: 1), .number(1)))
    XCTAssertFalse(accepts(.integer(min: 1), .number(0)))
    XCTAssertFalse(accepts(.integer, .number(1.5)))
    XCTAssertFalse(accepts(.positive, .number(0)))
    XCTAssertFalse(accepts(.integerIn([8, 16]), .number(12)))
    XCTAssertTrue(accepts(.choice(["a", "b"]), .string("b")))
    XCTAssertFalse(accepts(.choice(["a", "b"]), .string("c")))
    // A nested list becomes a tensor; a ragged one is rejected with the reason.
    guard case .tensor(let t)? = converted(.tensor, .list([.list([1, 2].map(Value.number)), .list([3, 4].map(Value.number))])) else {
      return XCTFail("a nested list did not become a tensor")
    }
    XCTAssertEqual(t.shape, [2, 2])
    guard case .failure(let ragged) = ParamType.tensor.convert(.list([.list([.number(1)]), .number(2)])) else { return XCTFail() }
    XCTAssertTrue(ragged.detail?.contains("rectangular") ?? false)
    // Shapes, extents and sides.
    XCTAssertEqual(Format.repr(try XCTUnwrap(converted(.shape, .number(3)))), "[3]")
    XCTAssertFalse(accepts(.shape, .list([.number(-1)])))
    XCTAssertTrue(accepts(.extents, .list([.number(2), .number(-1)])))
    XCTAssertFalse(accepts(.extents, .list([.number(-1), .number(-1)])))
    XCTAssertEqual(Format.repr(try XCTUnwrap(converted(.sides, .number(5)))), "[5, 5]")
    XCTAssertFalse(accepts(.sides, .list([.number(1), .number(2), .number(3)])))
    // Lists from ranges and 1-D tensors; integers; tensors in a list.
    XCTAssertEqual(Format.repr(try XCTUnwrap(converted(.list, .range(0, 3)))), "[0, 1, 2]")
    XCTAssertFalse(accepts(.integers(min: 1), .list([.number(0)])))
    guard case .list(let ts)? = converted(.tensors, .list([.number(1), .list([.number(2)])])),
          case .tensor(let first) = ts.items[0] else { return XCTFail() }
    XCTAssertEqual(first.shape, [])
    // Ranked tensors, pairs, records of numbers, host objects, optional values.
    let image = Value.tensor(Tensor.zeros([3, 4, 4]))
    XCTAssertTrue(accepts(.ranked([3, 4], "an image"), image))
    XCTAssertFalse(accepts(.ranked([4], "a batch"), image))
    XCTAssertFalse(accepts(.pair("[lo, hi]"), .list([.number(1)])))
    XCTAssertTrue(accepts(.recordOf(.numbers), .record([("a", .list([.number(1)]))])))
    XCTAssertFalse(accepts(.recordOf(.numbers), .record([("a", .string("x"))])))
    XCTAssertFalse(accepts(.model, .number(1)))
    XCTAssertTrue(accepts(.optional(.tensor), .none))
    XCTAssertFalse(accepts(.tensor, .none))
  }

  /// Every builtin whose first parameter can be wrong says so in one shape:
  /// `bad argument 'P' to 'NAME': expected …, got …`.
  func testEveryBuiltinReportsABadArgumentTheSameWay() throws {
    let h = Harness()
    let candidates: [(String, Value)] = [
      ("{x: 1}", .record([("x", .number(1))])), ("\"x\"", .string("x")), ("1.5", .number(1.5)),
      ("true", .bool(true)), ("[[1], 2]", .list([.list([.number(1)]), .number(2)])),
    ]
    var checked = 0
    for b in h.session.registry.all {
      guard let p = b.params.first, !p.variadic, p.type != .any else { continue }
      guard let (text, _) = candidates.first(where: { !accepts(p.type, $0.1) }) else { continue }
      // The other required arguments are nil: the first is converted first.
      let rest = b.params.dropFirst().filter(\.isRequired).map { _ in ", nil" }.joined()
      let message = h.error("\(b.name)(\(text)\(rest))") ?? "no error"
      XCTAssertTrue(message.hasPrefix("bad argument '\(p.name)' to '\(b.name)': expected \(p.type.expectation), got "),
                    "\(b.name)(\(text)): \(message)")
      checked += 1
    }
    XCTAssertGreaterThan(checked, 80)
  }

  /// Defaults fit their own declarations (the registry checks this when it
  /// registers a builtin) and the reference shows each declared type.
  func testDeclarationsAreConsistentAndDocumented() {
    let registry = Session().registry
    let reference = registry.markdown()
    for b in registry.all {
      for p in b.params {
        if let d = p.defaultValue, !d.isNil { XCTAssertTrue(accepts(p.type, d), "\(b.name).\(p.name)") }
        XCTAssertTrue(reference.contains("| `\(p.name)` | \(p.type.name) |"), "\(b.name).\(p.name)")
      }
    }
  }
}
