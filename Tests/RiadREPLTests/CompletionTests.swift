import Foundation
import RiadBuiltins
import RiadLang
import RiadREPL
import RiadTestSupport
import XCTest

/// Tab completion without a terminal: names, fields after a dot, paths
/// inside strings, and the prefix libedit inserts.
final class CompletionTests: RiadTestCase {
  func session(_ setup: String) throws -> Session {
    let s = Session()
    s.interpreter.output = { _ in }
    try s.interpreter.run(SourceFile(name: "setup", text: setup))
    return s
  }

  func testNamesFromBuiltinsVariablesAndKeywords() throws {
    let s = try session("anomaly_threshold = 0.5")
    let (word, options) = Completion.candidates("x = anom", s)
    XCTAssertEqual(word, "anom")
    XCTAssertEqual(options, ["anomaly_map", "anomaly_threshold"])
    XCTAssertEqual(Completion.candidates("whi", s).options, ["while"])
  }

  func testFieldsAfterADot() throws {
    let s = try session("r = {loss: [1], lr: 0.1, inner: {depth: 3}}")
    XCTAssertEqual(Completion.candidates("r.l", s).options, ["loss", "lr"])
    XCTAssertEqual(Completion.candidates("print(r.inner.d", s).options, ["depth"])
    XCTAssertEqual(Completion.candidates("nothing.x", s).options, [])
  }

  func testPathsInsideStrings() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("riad-completion-\(getpid())")
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("brick"), withIntermediateDirectories: true)
    try Data().write(to: dir.appendingPathComponent("bread.riad"))
    defer { try? FileManager.default.removeItem(at: dir) }
    let (word, options) = Completion.candidates("ds = mvtec(\"\(dir.path)/br", try session(""))
    XCTAssertEqual(word, "\(dir.path)/br")
    XCTAssertEqual(options, ["\(dir.path)/bread.riad", "\(dir.path)/brick/"])
  }

  func testCommonPrefix() {
    XCTAssertEqual(Completion.commonPrefix(["train", "train_step", "train_mode"]), "train")
    XCTAssertEqual(Completion.commonPrefix([]), "")
  }
}
