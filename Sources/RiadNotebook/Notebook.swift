import Foundation
import RiadImage

/// A script seen as a notebook: cells in the Jupytext percent format, each
/// with the outputs of running it.
///
/// `# %%` (an optional title after it) starts a code cell; `# %% [markdown]`
/// starts a prose cell whose lines are `# `-prefixed Markdown. Lines before
/// the first marker form a code cell of their own.
public struct Notebook {
  public var cells: [Cell]

  public init(cells: [Cell]) { self.cells = cells }

  public struct Cell {
    public enum Kind: String { case code, markdown }
    public var kind: Kind
    /// The text after `# %%` on a code cell's marker line.
    public var title: String
    /// The cell's lines as written (prose cells keep their `# ` prefixes).
    public var lines: [String]
    /// The script line of the cell's first line (1-based), so that errors
    /// name the script's own lines.
    public var startLine: Int
    /// False for the lines before a script's first `# %%`.
    public var marked: Bool
    public var state: State = .notRun
    public var outputs: [Output] = []
    /// Counts the code cells that ran, as Jupyter's `In [n]` does.
    public var executionCount: Int? = nil

    public init(kind: Kind, title: String = "", lines: [String], startLine: Int = 1, marked: Bool = true) {
      self.kind = kind; self.title = title; self.lines = lines; self.startLine = startLine; self.marked = marked
    }

    /// The code without blank lines around it.
    public var source: String { lines.joined(separator: "\n").trimmingCharacters(in: .newlines) }

    /// A prose cell's Markdown: the lines without their `# ` prefix.
    public var markdown: String {
      lines.map { $0.hasPrefix("# ") ? String($0.dropFirst(2)) : ($0 == "#" ? "" : $0) }
        .joined(separator: "\n").trimmingCharacters(in: .newlines)
    }
  }

  public enum State: Equatable {
    case ran, failed, interrupted
    /// Not run because an earlier cell failed (or was interrupted).
    case notRun
  }

  /// What running a cell produced, in the order it happened.
  public enum Output {
    /// Text printed to standard output.
    case stdout(String)
    /// Progress and summaries written to standard error.
    case stderr(String)
    /// A shown figure, drawn for reading.
    case figure(RGBImage, alt: String)
    /// The value of the cell's last expression (Jupyter's Out), as printed.
    case result(String)
    /// The error that stopped the cell.
    case error(String)
  }

  // MARK: - The percent format

  /// The cells of a percent-format script.
  public static func parse(_ text: String) -> Notebook {
    var cells: [Cell] = []
    var current = Cell(kind: .code, lines: [], startLine: 1, marked: false)
    func close() {
      // Blank lines before the first marker are no cell; a marked cell is
      // kept even when empty.
      if current.marked || !current.lines.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
        cells.append(current)
      }
    }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    for (i, line) in lines.enumerated() {
      if let marker = Notebook.marker(line) {
        close()
        current = Cell(kind: marker.markdown ? .markdown : .code, title: marker.title, lines: [], startLine: i + 2)
      } else {
        current.lines.append(line)
      }
    }
    close()
    return Notebook(cells: cells)
  }

  /// `# %%`, `# %% title` or `# %% [markdown]`.
  public static func marker(_ line: String) -> (markdown: Bool, title: String)? {
    guard line == "# %%" || line.hasPrefix("# %% ") else { return nil }
    let rest = line.dropFirst(4).trimmingCharacters(in: .whitespaces)
    if rest.hasPrefix("[markdown]") { return (true, "") }
    return (false, rest)
  }

  /// The notebook as a percent-format script: `parse(percentText)` gives
  /// back the same cells.
  public var percentText: String {
    var out: [String] = []
    for cell in cells {
      switch cell.kind {
      case .markdown: out.append("# %% [markdown]")
      case .code:
        if cell.marked { out.append(cell.title.isEmpty ? "# %%" : "# %% \(cell.title)") }
      }
      out += cell.lines
    }
    return out.joined(separator: "\n") + "\n"
  }

  /// Cells rebuilt from what a notebook stores (each cell's kind, title and
  /// source, as in an ipynb), written the way Jupytext writes them: prose
  /// gets its `# ` prefixes back, cells are one blank line apart, and every
  /// cell has its marker.
  public static func fromStored(_ stored: [(kind: Cell.Kind, title: String, source: String)]) -> Notebook {
    Notebook(cells: stored.enumerated().map { i, s in
      var lines = s.source.isEmpty ? [] : s.source.components(separatedBy: "\n")
      if s.kind == .markdown { lines = lines.map { $0.isEmpty ? "#" : "# " + $0 } }
      if i < stored.count - 1 { lines.append("") }
      return Cell(kind: s.kind, title: s.title, lines: lines)
    })
  }
}
