import Foundation
import RiadBuiltins
import RiadLang
import RiadREPL
import RiadTestSupport
import XCTest

/// The `:` commands and `?name`, through the one table that drives
/// dispatch, `:help` and completion.
final class CommandTests: RiadTestCase {
  var repl: REPL!
  var said: [String] = []

  override func setUp() {
    let session = Session()
    session.interpreter.output = { _ in }
    repl = REPL(session: session)
    said = []
    repl.say = { [unowned self] in self.said.append($0) }
    repl.complain = { [unowned self] in self.said.append($0) }
  }

  override func tearDown() { repl = nil }

  func testHelpDescribesCommandsBuiltinsAndVariables() {
    XCTAssertTrue(repl.command(":help :save"))
    XCTAssertTrue(said.last!.hasPrefix(":save FILE.riad"), said.last!)
    XCTAssertTrue(repl.command(":help"))
    XCTAssertTrue(said.last!.contains(":doctor"))
    XCTAssertTrue(said.last!.contains(":quit, :q, :exit"))
    _ = repl.command("?masks")
    XCTAssertTrue(said.last!.hasPrefix("masks(size"), said.last!)
    _ = repl.evaluate("ds = synthetic(size: 16, train: 2, test: 2)")
    _ = repl.command("?ds")
    XCTAssertTrue(said.last!.hasPrefix("ds: dataset"), said.last!)
    XCTAssertTrue(said.last!.contains("fields: name, size, train"), said.last!)
    _ = repl.command("?nothing_here")
    XCTAssertTrue(said.last!.hasPrefix("no builtin or variable named 'nothing_here'"))
    XCTAssertFalse(repl.command(":quit"))
    XCTAssertFalse(repl.command(":q"))
  }

  func testSaveTakesTheInputsThatRanAndIgnoresAComment() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("riad-save-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("session.riad").path
    XCTAssertTrue(repl.evaluate("x = 2"))
    XCTAssertFalse(repl.evaluate("y = undefined_name"))
    _ = repl.command(":time z = x * 3")
    _ = repl.command(":save \(path)   # the inputs of this session, as a script")
    XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "x = 2\nz = x * 3\n")
    XCTAssertTrue(said.last!.hasPrefix("saved 2 inputs to \(path)"), said.last!)
  }

  func testCompletionKnowsCommandsAndTheirArguments() throws {
    let session = Session()
    session.interpreter.output = { _ in }
    try session.interpreter.run(SourceFile(name: "setup", text: "ds = synthetic(size: 16, train: 2, test: 2)\nr = {inner: {depth: 3}}"))
    XCTAssertEqual(Completion.candidates(":he", session).options, [":help"])
    XCTAssertEqual(Completion.candidates(":display s", session).options, ["sixel"])
    XCTAssertEqual(Completion.candidates(":help :sa", session).options, [":save"])
    XCTAssertEqual(Completion.candidates("?anoma", session).options, ["anomaly_map"])
    XCTAssertEqual(Completion.tab("?anoma", session).insert, "ly_map", "no parenthesis after ?")
    XCTAssertEqual(Completion.tab("x = anomaly_m", session).insert, "ap(", "a call in code")
    XCTAssertEqual(Completion.tab(":he", session).insert, "lp")
    XCTAssertEqual(Completion.candidates("r.inner.d", session).options, ["depth"])
    // After a value without fields, the builtins that take it first.
    let members = Completion.candidates("ds.train.me", session).options
    XCTAssertTrue(members.contains("mean") && members.contains("mean_filter"), "\(members)")
    XCTAssertFalse(Completion.candidates("ds.train.", session).options.contains("synthetic"), "a builtin that cannot take a tensor")
  }
}
