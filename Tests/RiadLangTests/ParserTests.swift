import RiadLang
import RiadTestSupport
import XCTest

/// The parser: precedence from one table, ranges on nodes, and the
/// "needs more input" signal the REPL relies on.
final class ParserTests: RiadTestCase {
  func parse(_ s: String) throws -> [Stmt] { try Parser.parse(SourceFile(name: "t", text: s)) }

  /// A fully parenthesised rendering of an expression.
  func shape(_ e: Expr) -> String {
    switch e.kind {
    case .number(let v): return formatNumber(v)
    case .name(let n): return n
    case .binary(let op, let l, let r), .logical(let op, let l, let r): return "(\(shape(l)) \(op) \(shape(r)))"
    case .unary(let op, let x): return "(\(op) \(shape(x)))"
    case .range(let a, let b, let inclusive): return "(\(shape(a)) \(inclusive ? "..." : "..<") \(shape(b)))"
    case .call(let f, let args): return "\(shape(f))(\(args.map { ($0.name.map { $0 + ": " } ?? "") + shape($0.value) }.joined(separator: ", ")))"
    case .field(let x, let f): return "\(shape(x)).\(f)"
    default: return "?"
    }
  }

  func expr(_ s: String) throws -> String {
    guard case .expression(let e) = try parse(s)[0].kind else { return "not an expression" }
    return shape(e)
  }

  func testPrecedenceTable() throws {
    XCTAssertEqual(try expr("1 + 2 * 3 ^ 2 ^ 2"), "(1 + (2 * (3 ^ (2 ^ 2))))")
    XCTAssertEqual(try expr("-2 ^ 2"), "(- (2 ^ 2))")
    XCTAssertEqual(try expr("a or b and not c == d"), "(a or (b and (not (c == d))))")
    XCTAssertEqual(try expr("0..<n + 1"), "(0 ..< (n + 1))")
    XCTAssertEqual(try expr("x @ w + b"), "((x @ w) + b)")
    XCTAssertEqual(try expr("t.mean(dim: 1) * 2"), "(t.mean(dim: 1) * 2)")
    XCTAssertEqual(try expr("a - b - c"), "((a - b) - c)")
  }

  func testNodesCarryRanges() throws {
    let s = try parse("x = 1\n  y + zed")
    XCTAssertEqual(s.count, 2)
    guard case .expression(let e) = s[1].kind, case .binary(_, _, let r) = e.kind else { return XCTFail() }
    XCTAssertEqual(r.range.line, 2)
    XCTAssertEqual(r.range.column, 7)
    XCTAssertEqual(r.range.length, 3)
    XCTAssertEqual(e.range.column, 3)
  }

  func testIncompleteInputAsksForMore() {
    for text in ["fn f(x) {", "[1, 2,", "x = (1 +", "if a {\n  b", "y = 2 *"] {
      XCTAssertThrowsError(try parse(text), text) { XCTAssertTrue(($0 as! ScriptError).incomplete, "\(text): \($0)") }
    }
    for text in ["x = )", "1 2", "fn )", "\"open"] {
      XCTAssertThrowsError(try parse(text), text) { XCTAssertFalse(($0 as! ScriptError).incomplete, "\(text): \($0)") }
    }
  }

  func testRecordNeedsParenthesesInConditions() throws {
    XCTAssertNoThrow(try parse("if ({a: 1}).a == 1 { 2 }"))
    XCTAssertNoThrow(try parse("r = {a: 1, \"b.c\": 2}"))
    XCTAssertThrowsError(try parse("f(a: 1, 2)"), "positional after named")
  }

  func testOneTypoGivesOneError() throws {
    XCTAssertThrowsError(try parse("x = [1, 2\ny = 3\nz = )")) { error in
      let e = error as! ScriptError
      XCTAssertEqual(e.range.line, 2)
      XCTAssertEqual(e.rendered.components(separatedBy: "error:").count, 2, e.rendered)
    }
  }
}
