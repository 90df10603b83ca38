import Foundation
import RiadImage
import RiadTestSupport
import XCTest

/// riad's bitmap font draws every character the project's examples and
/// docs use, and a visible box for anything it does not know.
final class FontTests: RiadTestCase {
  func testEveryCharacterOfTheExamplesAndDocsDraws() throws {
    let root = fixturesURL.deletingLastPathComponent().deletingLastPathComponent()
    var text = ""
    for dir in ["examples", "docs"] {
      let url = root.appendingPathComponent(dir)
      for name in try FileManager.default.contentsOfDirectory(atPath: url.path) where name.hasSuffix(".riad") || name.hasSuffix(".md") {
        text += try String(contentsOf: url.appendingPathComponent(name), encoding: .utf8)
      }
    }
    text += try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    XCTAssertEqual(Glyphs.missing(in: text).map(String.init).sorted(), [], "characters the font cannot draw")
    // Each of them has ink (but a space) and is its own drawing.
    for c in Set(text) where !c.isWhitespace && !c.isNewline {
      let (rows, known) = Glyphs.rows(of: c)
      XCTAssertTrue(known, "\(c)")
      XCTAssertTrue(rows.contains { $0 != 0 }, "\(c) draws nothing")
    }
  }

  func testTheSetsItCovers() {
    let latin1 = (0xA1...0xFF).compactMap { Unicode.Scalar($0).map { Character($0) } }.filter { $0 != "\u{AD}" }
    XCTAssertEqual(Glyphs.missing(in: String(latin1)), [], "Latin-1")
    XCTAssertEqual(Glyphs.missing(in: "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩαβγδεζηθικλμνξοπρσςτυφχψω"), [], "Greek")
    XCTAssertEqual(Glyphs.missing(in: "× · ± ≤ ≥ ≠ → ← ↑ ↓ σ λ μ ∑ ∞ √ ≈ ∂ ∈ ⊙ − ² ³ ½ … – —"), [], "math and arrows")
    XCTAssertEqual(Glyphs.missing(in: "Skočaj Łódź Dvořák Ærøskøbing x̂ ŷ"), [], "letters with accents, combining marks")
    XCTAssertEqual(Glyphs.missing(in: "漢"), ["漢"], "a character outside the font")
    XCTAssertFalse(Glyphs.rows(of: "漢").known, "drawn as the box")
    // Accents sit over the letter: é has ink above e's top row.
    let e = Glyphs.rows(of: "e").rows, eAcute = Glyphs.rows(of: "é").rows
    let top = e.firstIndex { $0 != 0 }!
    XCTAssertTrue(eAcute[..<top].contains { $0 != 0 })
    XCTAssertEqual(Array(eAcute[top...]), Array(e[top...]))
  }
}
