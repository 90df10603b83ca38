import RiadBuiltins
import RiadLang
import RiadTensor
import RiadTestSupport
import XCTest

/// Random token soup must give a value or a located error, never a crash.
final class RobustnessTests: RiadTestCase {
  func testRandomProgramsNeverCrash() {
    let vocabulary = [
      "0", "1", "2", "-1", "0.5", "1e3", "\"s\"", "x", "y", "t", "true", "nil",
      "zeros", "ones", "tensor", "shape", "len", "sum", "max", "masks", "gms", "str", "reshape", "cat",
      "keys", "type", "clamp", "relu", "heatmap", "num", "range",
      "+", "-", "*", "/", "%", "^", "@", "==", "<", "and", "or", "not", "..<",
      "(", ")", "[", "]", "{", "}", ",", ":", ".", "=", "+=", "\n", ";",
      "if", "else", "x[0]", "t[:, 1]", "[1, 2]", "[[1, 2], [3, 4]]", "{a: 1}", "k:", "dim:",
    ]
    var rng = RandomGenerator(seed: 2026)
    let session = Session()
    session.interpreter.output = { _ in }
    try? session.interpreter.run(SourceFile(name: "setup", text: "x = [1, 2, 3]\ny = {a: 1}\nt = tensor([[1, 2], [3, 4]])"))
    var errors = 0, values = 0
    for i in 0..<20000 {
      let count = 1 + rng.nextInt(below: 12)
      let text = (0..<count).map { _ in vocabulary[rng.nextInt(below: vocabulary.count)] }.joined(separator: " ")
      do {
        try session.interpreter.run(SourceFile(name: "fuzz\(i)", text: text)) { _ in }
        values += 1
      } catch let e as ScriptError {
        errors += 1
        XCTAssertFalse(e.rendered.isEmpty)
        if e.range.file != nil { XCTAssertGreaterThan(e.range.line, 0, text) }
      } catch {
        XCTFail("\(text): a non-script error escaped: \(error)")
      }
    }
    XCTAssertGreaterThan(values, 100, "some programs run")
    XCTAssertGreaterThan(errors, 100, "most are errors")
  }
}
