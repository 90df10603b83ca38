import RiadTestSupport
import XCTest

import RiadNotebook

/// The Jupytext percent format: cells, titles, prose, and the way back.
final class PercentFormatTests: RiadTestCase {
  let script = """
    x = 1
    # %% [markdown]
    # # A heading
    #
    # Some *prose*.

    # %% The second cell
    y = x + 1
    y

    # %%
    # %%
    print(y)
    """

  func testCellsKindsTitlesAndLines() {
    let nb = Notebook.parse(script)
    XCTAssertEqual(nb.cells.map(\.kind), [.code, .markdown, .code, .code, .code])
    XCTAssertEqual(nb.cells.map(\.title), ["", "", "The second cell", "", ""])
    XCTAssertEqual(nb.cells.map(\.marked), [false, true, true, true, true])
    XCTAssertEqual(nb.cells.map(\.startLine), [1, 3, 8, 12, 13])
    XCTAssertEqual(nb.cells[1].markdown, "# A heading\n\nSome *prose*.")
    XCTAssertEqual(nb.cells[2].source, "y = x + 1\ny")
    XCTAssertEqual(nb.cells[3].source, "", "an empty marked cell is still a cell")
  }

  func testPercentTextGivesTheScriptBack() {
    XCTAssertEqual(Notebook.parse(script).percentText, script + "\n")
    XCTAssertEqual(Notebook.parse("").cells.count, 0)
    XCTAssertEqual(Notebook.parse("\n\n# %%\n1\n").cells.count, 1, "blank lines before the first marker are no cell")
  }

  /// A comment that merely starts with `# %%` text is not a marker unless
  /// it is the marker itself or the marker and a space.
  func testMarkersAreExact() {
    XCTAssertNil(Notebook.marker("# %%x"))
    XCTAssertNil(Notebook.marker("#%%"))
    XCTAssertEqual(Notebook.marker("# %%")?.title, "")
    XCTAssertEqual(Notebook.marker("# %% [markdown]")?.markdown, true)
    XCTAssertEqual(Notebook.marker("# %% Train it")?.title, "Train it")
  }
}
