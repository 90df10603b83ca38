import Foundation
import RiadBuiltins
import RiadImage
import RiadTestSupport
import XCTest

import RiadNotebook

/// Running cells: what each cell shows, in order, as Jupyter would.
final class NotebookRunTests: RiadTestCase {
  func run(_ script: String, arguments: [String] = []) -> Notebook {
    var nb = Notebook.parse(script)
    nb.run(in: Session(display: Display(mode: .none), arguments: arguments), file: "t.riad")
    return nb
  }

  func describe(_ outputs: [Notebook.Output]) -> [String] {
    outputs.map {
      switch $0 {
      case .stdout(let s): return "stdout:" + s
      case .stderr(let s): return "stderr:" + s
      case .figure(let image, _): return "figure:\(image.width)x\(image.height)"
      case .result(let s): return "out:" + s
      case .error(let s): return "error:" + (s.split(separator: "\n").first.map(String.init) ?? "")
      }
    }
  }

  func testOutputsComeInOrderWithTheLastValueAsOut() {
    let nb = run("""
      # %%
      print("a")
      print("b")
      show(rand([3, 4, 4], seed: 1))
      print("c")
      6 * 7
      """)
    XCTAssertEqual(describe(nb.cells[0].outputs), ["stdout:a\nb\n", "figure:64x64", "stdout:c\n", "out:42"])
    XCTAssertEqual(nb.cells[0].state, .ran)
    XCTAssertEqual(nb.cells[0].executionCount, 1)
  }

  /// Out is the value of the last statement only, and only when that is an
  /// expression with a value (an assignment, a loop, `print` or nil show none).
  func testOutIsTheLastExpressionOnly() {
    let nb = run("""
      # %%
      x = 5
      # %%
      x
      x + 1
      # %%
      x + 1
      y = 2
      # %%
      print(x)
      # %%
      nil
      # %%
      for i in 0..<2 { i }
      # %%
      {a: 1, b: [1, 2]}
      """)
    XCTAssertEqual(nb.cells.map { describe($0.outputs) },
                   [[], ["out:6"], [], ["stdout:5\n"], [], [], ["out:{a: 1, b: [1, 2]}"]])
  }

  func testAnErrorStopsTheCellsBelowAndProseStays() {
    let nb = run("""
      # %%
      print("first")
      # %%
      print("before")
      y = undefined_name + 1
      print("after")
      # %% [markdown]
      # Prose after the error.
      # %%
      print("never")
      # %%
      2
      """)
    XCTAssertEqual(nb.cells.map(\.state), [.ran, .failed, .notRun, .notRun, .notRun])
    XCTAssertEqual(nb.cells.map(\.executionCount), [1, 2, nil, nil, nil])
    XCTAssertEqual(describe(nb.cells[1].outputs), ["stdout:before\n", "error:t.riad:5:5: error: unknown name 'undefined_name'"])
    XCTAssertTrue(nb.cells[3].outputs.isEmpty)
    XCTAssertFalse(nb.succeeded)
    XCTAssertFalse(nb.interrupted)
  }

  func testScriptArgumentsAndSharedState() {
    let nb = run("# %%\nn = len(ARGS)\n# %%\nARGS[1] + \"!\"\n", arguments: ["a", "b"])
    XCTAssertEqual(describe(nb.cells[1].outputs), ["out:\"b!\""])
  }

  /// train's progress lines and summary are the cell's stderr; with a
  /// preview every 2 steps (3 steps an epoch), each frame is a picture of
  /// its own, in order with the progress lines: frames after steps 2, 4
  /// and 6, epoch lines after steps 3 and 6, then the summary.
  func testTrainingShowsProgressSummaryAndPreviewFrames() throws {
    let nb = run("""
      # %%
      net = unet(base: 2, depth: 2)
      h = train(net, rand([6, 3, 16, 16], seed: 2), epochs: 2, batch: 2, lr: 1e-3, preview: rand([3, 16, 16], seed: 3), every: 2)
      [len(h.steps), h.epochs, h.interrupted]
      """)
    let kinds = describe(nb.cells[0].outputs).map { $0.prefix { $0 != ":" } }
    XCTAssertEqual(kinds, ["figure", "stderr", "figure", "stderr", "figure", "stderr", "out"], "\(describe(nb.cells[0].outputs))")
    guard case .stderr(let last) = nb.cells[0].outputs[5], case .result(let out) = nb.cells[0].outputs[6] else { return XCTFail() }
    XCTAssertTrue(last.contains("train: 2 epochs (6 steps)"), last)
    XCTAssertTrue(last.contains("final loss"), last)
    XCTAssertEqual(out, "[6, 2, false]")
  }

  /// Small pictures grow by whole factors (each pixel a square block);
  /// figures with words double when that fits 840 pixels.
  func testPicturesAreScaledForReading() throws {
    var image = RGBImage(width: 64, height: 32)
    image.set(3, 5, (10, 20, 30))
    let big = try Notebook.forReading(Figure(image))
    XCTAssertEqual([big.width, big.height], [320, 160])
    for dy in 0..<5 { for dx in 0..<5 { XCTAssertTrue(big.pixel(15 + dx, 25 + dy) == (10, 20, 30)) } }
    XCTAssertTrue(big.pixel(20, 25) == (255, 255, 255))
    let captioned = Figure.grid([Figure.Panel(caption: "x", image: image)], minSide: 64)
    let drawn = try captioned.drawn()
    let read = try Notebook.forReading(captioned)
    XCTAssertEqual(read.width, drawn.width * 2, "words grow at most 2 times")
    let mid = try Notebook.forReading(Figure.grid([Figure.Panel(caption: "x", image: RGBImage(width: 300, height: 100))]))
    XCTAssertEqual(mid.width, try Figure.grid([Figure.Panel(caption: "x", image: RGBImage(width: 300, height: 100))]).drawn().width * 2)
    let wide = try Notebook.forReading(Figure(RGBImage(width: 900, height: 10)))
    XCTAssertEqual(wide.width, 900, "a large picture stays as it is")
  }
}
