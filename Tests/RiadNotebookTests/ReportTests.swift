import Foundation
import RiadBuiltins
import RiadImage
import RiadTestSupport
import XCTest

import RiadNotebook

/// The three report formats, the nbformat schema, and the way back to a script.
final class ReportTests: RiadTestCase {
  static let schema = try! JSONSchema(contentsOf: fixturesURL.appendingPathComponent("nbformat/nbformat.v4.5.schema.json"))

  /// A notebook with every kind of output: prose, titles, stdout, stderr,
  /// pictures, Out, an error, a cell not run.
  static let script = """
    # %% [markdown]
    # # Every kind of output
    #
    # Text with `code`, **bold** and a [link](https://example.org) & <tags>.

    # %% Printing and showing
    print("a < b")
    show(rand([3, 8, 8], seed: 1))
    {x: 1}

    # %% Training
    h = train(unet(base: 2, depth: 2), rand([2, 3, 16, 16], seed: 1), epochs: 1, batch: 2)
    len(h.steps)

    # %%
    1 + nothing

    # %%
    print("not reached")

    """

  /// Run afresh where it is used, never stored in a static or a test case
  /// (XCTest keeps those to the end): LeakSanitizer, which checks when the
  /// bundle ends, cannot follow a pointer that Swift stores with an enum's
  /// case in its spare bits, and would call a stored notebook's pictures
  /// leaked.
  var report: Report {
    var nb = Notebook.parse(ReportTests.script)
    nb.run(in: Session(display: Display(mode: .none)), file: "every.riad")
    return Report(notebook: nb, title: "every.riad", generator: "riad test")
  }

  func json(_ bytes: [UInt8]) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(bytes)) as! [String: Any]
  }

  func testNotebookValidatesAgainstTheNbformatSchema() throws {
    let nb = try json(try report.ipynb())
    XCTAssertEqual(ReportTests.schema.errors(nb), [])
    let cells = nb["cells"] as! [[String: Any]]
    XCTAssertEqual(cells.map { $0["cell_type"] as! String }, ["markdown", "code", "code", "code", "code"])
    XCTAssertEqual(cells.dropFirst().map { $0["execution_count"] as? Int }, [1, 2, 3, nil])
    XCTAssertEqual((cells[1]["metadata"] as! [String: Any])["title"] as? String, "Printing and showing")
    let outputs = cells[1]["outputs"] as! [[String: Any]]
    XCTAssertEqual(outputs.map { $0["output_type"] as! String }, ["stream", "display_data", "execute_result"])
    let png = Data(base64Encoded: (outputs[1]["data"] as! [String: Any])["image/png"] as! String)!
    let image = try PNG.decode(Array(png))
    XCTAssertEqual([image.width, image.height], [128, 128], "an 8×8 image grows 16 times, the most")
    XCTAssertEqual(((outputs[2]["data"] as! [String: Any])["text/plain"] as! [String]), ["{x: 1}"])
    let training = (cells[2]["outputs"] as! [[String: Any]]).map { $0["name"] as? String ?? $0["output_type"] as! String }
    XCTAssertEqual(training, ["stderr", "execute_result"])
    let error = (cells[3]["outputs"] as! [[String: Any]])[0]
    XCTAssertEqual(error["output_type"] as? String, "error")
    XCTAssertTrue((error["evalue"] as! String).contains("unknown name 'nothing'"))
    XCTAssertEqual((cells[4]["outputs"] as! [Any]).count, 0)
  }

  /// The validator is not vacuous: notebooks broken in the ways a writer
  /// could break them are each caught.
  func testTheValidatorCatchesBrokenNotebooks() throws {
    let good = try json(try report.ipynb())
    func broken(_ change: (inout [String: Any]) -> Void) -> [String] {
      var nb = good
      change(&nb)
      return ReportTests.schema.errors(nb)
    }
    func editCell(_ i: Int, _ change: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
      { nb in var cells = nb["cells"] as! [[String: Any]]; change(&cells[i]); nb["cells"] = cells }
    }
    XCTAssertFalse(broken { $0["nbformat_minor"] = "5" }.isEmpty)
    XCTAssertFalse(broken { $0["metadata"] = nil }.isEmpty)
    XCTAssertFalse(broken(editCell(1) { $0["outputs"] = nil }).isEmpty)
    XCTAssertFalse(broken(editCell(1) { $0["id"] = "has spaces" }).isEmpty)
    XCTAssertFalse(broken(editCell(0) { $0["execution_count"] = 1 }).isEmpty, "markdown cells have no execution count")
    XCTAssertFalse(broken(editCell(1) { $0["outputs"] = [["output_type": "stream", "name": "stdout"]] }).isEmpty)
    XCTAssertFalse(broken(editCell(1) { $0["outputs"] = [["output_type": "picture"]] }).isEmpty)
    XCTAssertFalse(broken(editCell(1) { $0["execution_count"] = -1 }).isEmpty)
  }

  /// Jupytext's way: a script goes to a notebook and back unchanged (cells,
  /// kinds, titles, prose and code), for this script and every lesson.
  func testPercentCellsRoundTripThroughTheNotebook() throws {
    var scripts = [("every.riad", ReportTests.script)]
    let examples = packageRoot.appendingPathComponent("examples")
    for name in try FileManager.default.contentsOfDirectory(atPath: examples.path).sorted() where name.hasSuffix(".riad") {
      let text = try String(contentsOf: examples.appendingPathComponent(name), encoding: .utf8)
      // Plain scripts (no cells, like gallery.riad) are not notebooks.
      if text.hasPrefix("# %%") || text.contains("\n# %%") { scripts.append((name, text)) }
    }
    XCTAssertGreaterThanOrEqual(scripts.count, 11, "the lessons, the tutorial and the demo")
    for (name, text) in scripts {
      let nb = try json(try Report(notebook: Notebook.parse(text), title: name, generator: "t").ipynb())
      XCTAssertEqual(ReportTests.schema.errors(nb), [], name)
      let stored = (nb["cells"] as! [[String: Any]]).map { c in
        (kind: Notebook.Cell.Kind(rawValue: c["cell_type"] as! String)!,
         title: (c["metadata"] as! [String: Any])["title"] as? String ?? "",
         source: (c["source"] as! [String]).joined())
      }
      XCTAssertEqual(Notebook.fromStored(stored).percentText, text, "\(name) does not round-trip (is it in Jupytext's layout: a marker on every cell, one blank line between cells?)")
    }
  }

  func testHTMLShowsCellsOutputsAndNotRunCells() throws {
    let html = try report.html()
    XCTAssertTrue(html.contains("<title>Every kind of output</title>"), "the first heading names the page")
    XCTAssertTrue(html.contains("<h1>Every kind of output</h1>"))
    XCTAssertFalse(html.contains("class=\"title\""), "no second title from the file name")
    let untitled = try Report(notebook: Notebook.parse("# %%\n1\n# %% [markdown]\n# # Later\n"), title: "u.riad", generator: "t").html()
    XCTAssertTrue(untitled.contains("<title>u.riad</title>") && untitled.contains("<h1 class=\"title\">u.riad</h1>") && untitled.contains("<h2>Later</h2>"))
    XCTAssertTrue(html.contains("<strong>bold</strong>"))
    XCTAssertTrue(html.contains("<a href=\"https://example.org\">link</a> &amp; &lt;tags&gt;"))
    XCTAssertTrue(html.contains("<pre class=\"stdout\">a &lt; b</pre>"))
    XCTAssertTrue(html.contains("Out[1]:</div><pre class=\"result\">{x: 1}</pre>"))
    XCTAssertTrue(html.contains("width=\"128\" height=\"128\" src=\"data:image/png;base64,"))
    XCTAssertTrue(html.contains("<pre class=\"error\">every.riad:"))
    XCTAssertEqual(html.components(separatedBy: Report.notRunNote).count - 1, 1)
    XCTAssertTrue(html.contains("In [ ]:"))
    XCTAssertTrue(html.contains("<span class=\"k\">print</span>") == false, "print is a builtin, not a keyword")
    XCTAssertTrue(html.contains("<span class=\"s\">&quot;a &lt; b&quot;</span>"))
  }

  func testMarkdownWritesItsPicturesBesideIt() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("riad-report-\(getpid())")
    defer { try? FileManager.default.removeItem(at: dir) }
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent("every.md").path
    try report.write(to: path)
    let md = try String(contentsOfFile: path, encoding: .utf8)
    XCTAssertTrue(md.hasPrefix("# Every kind of output\n"))
    XCTAssertTrue(md.contains("![figure](every_files/image-001.png)"))
    XCTAssertTrue(md.contains("Out[1]:\n\n```text\n{x: 1}\n```"))
    XCTAssertTrue(md.contains("*\(Report.notRunNote)*"))
    let png = try PNG.decode(Array(try Data(contentsOf: dir.appendingPathComponent("every_files/image-001.png"))))
    XCTAssertEqual(png.width, 128)
    XCTAssertThrowsError(try report.write(to: dir.appendingPathComponent("x.pdf").path))
  }

  func testMarkdownProseBecomesHTML() {
    XCTAssertEqual(MarkdownHTML.render("# T\n\n1. one\n2. *two*\n\n- a\n  more\n\n> quote\n\n```\nx = 1 # c\n```"),
                   "<h2>T</h2>\n<ol>\n<li>one</li>\n<li><em>two</em></li>\n</ol>\n<ul>\n<li>a more</li>\n</ul>\n<blockquote><p>quote</p></blockquote>\n<pre><code>x = <span class=\"n\">1</span> <span class=\"c\"># c</span></code></pre>\n")
    XCTAssertEqual(MarkdownHTML.inline("a `x*y*z` *b* 2*3*4"), "a <code>x*y*z</code> <em>b</em> 2*3*4")
  }

  func testJSONTextIsNotebookStyle() throws {
    let text = JSONText.write(["b": [1, "x\n\"y\"", NSNull(), true], "a": [String: Any](), "c": 1.5] as [String: Any])
    XCTAssertEqual(text, "{\n \"a\": {},\n \"b\": [\n  1,\n  \"x\\n\\\"y\\\"\",\n  null,\n  true\n ],\n \"c\": 1.5\n}\n")
    XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(text.utf8)))
  }
}

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
