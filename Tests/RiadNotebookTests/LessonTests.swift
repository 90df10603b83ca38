import Foundation
import RiadBuiltins
import RiadImage
import RiadTestSupport
import XCTest

import RiadNotebook

/// Every lesson in examples/ runs without an error and renders to HTML,
/// Markdown and an nbformat 4.5 notebook that validates, with every picture.
final class LessonTests: RiadTestCase {
  static let lessons: [String] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("examples").path)) ?? []
    return names.filter { $0.hasSuffix(".riad") && ($0.first?.isNumber == true || $0 == "tutorial.riad") }.sorted()
  }()

  func testTheLessonsAreThere() {
    XCTAssertEqual(LessonTests.lessons, [
      "01-tensors-and-autograd.riad", "02-masks.riad", "03-training-loop.riad", "04-train-and-evaluate.riad",
      "05-explain.riad", "06-metrics-and-roc.riad", "07-mvtec-folder.riad", "08-paint-a-defect.riad", "09-checkpoints.riad",
      "tutorial.riad",
    ])
  }

  func testEveryLessonRunsAndRendersInEveryFormat() throws {
    #if DEBUG
    throw XCTSkip("the lessons train networks: they run in the release suite (scripts/test)")
    #else
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("riad-lessons-\(getpid())")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: out) }
    for name in LessonTests.lessons {
      let script = try String(contentsOf: packageRoot.appendingPathComponent("examples/\(name)"), encoding: .utf8)
      var nb = Notebook.parse(script)
      nb.run(in: Session(display: Display(mode: .none)), file: "examples/\(name)")
      let failed = nb.cells.first { $0.state != .ran && $0.kind == .code }
      XCTAssertNil(failed, "\(name): a cell did not run: \(failed.map { "\($0.outputs)" } ?? "")")
      let figures = nb.cells.flatMap(\.outputs).filter { if case .figure = $0 { return true } else { return false } }.count
      XCTAssertGreaterThan(figures, 0, "\(name) shows pictures")
      XCTAssertTrue(nb.cells.contains { $0.kind == .markdown }, "\(name) explains itself in prose")
      let report = Report(notebook: nb, title: name, generator: "riad")
      let stem = out.appendingPathComponent((name as NSString).deletingPathExtension).path
      for ext in ["html", "md", "ipynb"] { try report.write(to: stem + "." + ext) }

      let ipynb = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stem + ".ipynb")))
      XCTAssertEqual(ReportTests.schema.errors(ipynb), [], name)
      let html = try String(contentsOfFile: stem + ".html", encoding: .utf8)
      XCTAssertEqual(html.components(separatedBy: "src=\"data:image/png;base64,").count - 1, figures, name)
      XCTAssertFalse(html.contains("class=\"error\""), name)
      let pictures = try FileManager.default.contentsOfDirectory(atPath: stem + "_files")
      XCTAssertEqual(pictures.count, figures, name)
    }
    #endif
  }
}
