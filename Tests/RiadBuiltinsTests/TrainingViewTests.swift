import RiadBuiltins
import RiadImage
import RiadLang
import RiadTensor
import RiadTestSupport
import XCTest

/// What `train` and `evaluate` show while they run and leave behind.
final class TrainingViewTests: RiadTestCase {
  func session(terminal: Bool, display: Display = Display(mode: .none)) -> (Session, () -> String) {
    let s = Session(display: display)
    var err = ""
    s.errorOutput = { err += $0 }
    s.progressIsTerminal = terminal
    return (s, { err })
  }

  /// On a terminal the bar is redrawn on one line (carriage returns), then
  /// replaced by a summary line that stays; the history holds every step.
  func testTrainOnATerminalEndsWithASummaryLine() throws {
    let (s, err) = session(terminal: true)
    try s.interpreter.run(SourceFile(name: "t", text: "h = train(unet(base: 2, depth: 2), rand([4, 3, 8, 8], seed: 1), epochs: 3, batch: 2)"))
    let text = err()
    XCTAssertTrue(text.contains("\r\u{1b}[K  "), "the bar redraws in place")
    XCTAssertTrue(text.contains("epoch 3/3 step 2/2"))
    XCTAssertTrue(text.hasSuffix("\n"), "the summary stays")
    let last = text.components(separatedBy: "\r\u{1b}[K").last!
    XCTAssertTrue(last.hasPrefix("train: 3 epochs (6 steps) in "), last)
    XCTAssertTrue(last.contains("final loss"), last)
    guard case .record(let h)? = s.interpreter.globals.lookup("h") else { return XCTFail("h is a record") }
    XCTAssertEqual(h.pairs.map(\.0), ["loss", "seconds", "steps", "epochs", "interrupted", "time"])
    guard case .list(let steps) = h.pairs[2].1, case .list(let loss) = h.pairs[0].1 else { return XCTFail() }
    XCTAssertEqual(steps.items.count, 6)
    XCTAssertEqual(loss.items.count, 3)
  }

  /// Off a terminal: no escape sequences, plain epoch lines, the summary.
  func testTrainOffATerminalWritesLines() throws {
    let (s, err) = session(terminal: false)
    try s.interpreter.run(SourceFile(name: "t", text: "train(unet(base: 2, depth: 2), rand([4, 3, 8, 8], seed: 1), epochs: 2, batch: 4)"))
    XCTAssertFalse(err().contains("\u{1b}"))
    XCTAssertEqual(err().split(separator: "\n").map { String($0.prefix(14)) }, ["  epoch 1/2  l", "  epoch 2/2  l", "train: 2 epoch"])
  }

  /// Ctrl-C (here: an interrupt check that answers yes after two steps)
  /// returns the history so far, marked, and says so.
  func testInterruptedTrainReturnsTheHistorySoFar() throws {
    let (s, err) = session(terminal: false)
    var polls = 0
    s.interpreter.interruptCheck = { polls += 1; return polls > 40 }
    try? s.interpreter.run(SourceFile(name: "t", text: "h = train(unet(base: 2, depth: 2), rand([4, 3, 8, 8], seed: 1), epochs: 1000, batch: 2)"))
    guard case .record(let h)? = s.interpreter.globals.lookup("h") else { return XCTFail("h is bound: \(err())") }
    XCTAssertEqual(Format.repr(h.pairs[4].1), "true")
    XCTAssertTrue(err().contains("train: interrupted after"), err())
  }

  /// evaluate's bar counts test images and ends with the metrics.
  func testEvaluateShowsProgressOnATerminal() throws {
    let (s, err) = session(terminal: true)
    try s.interpreter.run(SourceFile(name: "t", text: "r = evaluate(unet(base: 2, depth: 2), synthetic(size: 16, train: 2, test: 10), ks: [4])"))
    XCTAssertTrue(err().contains("evaluate: 8/10 test images"), err())
    XCTAssertTrue(err().contains("evaluate: 10/10 test images"), err())
    XCTAssertTrue(err().components(separatedBy: "\r\u{1b}[K").last!.hasPrefix("evaluate: 10 test images in "), err())
    XCTAssertTrue(err().contains("image AUROC"))
  }

  /// A preview every 2 steps of 3 shows frames after steps 2 and 3 (the last
  /// always), each of the preview image, its reconstruction and its map
  /// beside the loss curve; previews do not change what training does.
  func testPreviewFramesAndTheSameTraining() throws {
    var figures: [Figure] = []
    let display = Display(mode: .none)
    display.onShow = { figures.append($0) }
    let (s, _) = session(terminal: false, display: display)
    let code = "seed(0)\nnet = unet(base: 2, depth: 2)\nh = train(net, rand([6, 3, 8, 8], seed: 1), epochs: 1, batch: 2%@)\nh.steps"
    var withPreview: Value? = nil, without: Value? = nil
    withPreview = try s.interpreter.run(SourceFile(name: "t", text: code.replacingOccurrences(of: "%@", with: ", preview: rand([3, 8, 8], seed: 2), every: 2")))
    XCTAssertEqual(figures.count, 2)
    XCTAssertEqual(figures.map(\.title), ["epoch 1/1 · step 2/3 · loss \(stepLoss(withPreview, 1))", "epoch 1/1 · step 3/3 · loss \(stepLoss(withPreview, 2))"])
    guard case .row(let parts) = figures[0].content, parts.count == 2, let panels = parts[0].panels else { return XCTFail() }
    XCTAssertEqual(panels.panels.map(\.caption), ["input", "reconstruction k=8", "anomaly map"])
    XCTAssertNotNil(panels.panels[2].colorBar)
    let (s2, _) = session(terminal: false)
    without = try s2.interpreter.run(SourceFile(name: "t", text: code.replacingOccurrences(of: "%@", with: "")))
    XCTAssertEqual(without.map { Format.repr($0) }, withPreview.map { Format.repr($0) }, "the preview draws its own masks")
    XCTAssertNotNil(s.interpreter.globals.lookup("h"))
    let (s3, _) = session(terminal: false)
    XCTAssertThrowsError(try s3.interpreter.run(SourceFile(name: "t", text: "train(unet(base: 2, depth: 2), rand([2, 3, 8, 8]), epochs: 1, preview: rand([1, 8, 8]))"))) {
      XCTAssertTrue("\($0)".contains("bad argument 'preview' to 'train': the model takes images of 3 channels, got 1"), "\($0)")
    }
  }

  func stepLoss(_ v: Value?, _ i: Int) -> String {
    guard case .list(let l)? = v, case .number(let x) = l.items[i] else { return "?" }
    return Format.short(x)
  }
}
