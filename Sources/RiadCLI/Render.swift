import ArgumentParser
import CShims
import Foundation
import RiadBuiltins
import RiadImage
import RiadLang

/// `riad render FILE.riad -o OUT.html|OUT.md`: runs the script cell by cell
/// (Jupytext percent format) and writes a report of sources, outputs and images.
struct Render: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Run a script cell by cell and write an HTML or Markdown report.")

  @OptionGroup var options: GlobalOptions
  @ArgumentParser.Argument(help: "The .riad script (cells start with '# %%').") var file: String
  @Option(name: .shortAndLong, help: "The report: OUT.html (self-contained) or OUT.md (with a folder of PNGs).") var output: String

  struct Cell {
    var markdown: Bool
    var title: String
    var lines: [String] = []
    var startLine: Int
  }

  final class Result {
    let cell: Cell
    init(cell: Cell) { self.cell = cell }
    var text = ""
    var images: [RGBImage] = []
    var error: String?
  }

  func validate() throws {
    guard output.hasSuffix(".html") || output.hasSuffix(".md") else {
      throw ValidationError("-o must name an .html or .md file, got '\(output)'")
    }
  }

  /// Splits a script at `# %%` lines; `# %% [markdown]` cells hold `# `-prefixed prose.
  static func cells(_ text: String) -> [Cell] {
    var cells: [Cell] = []
    var current = Cell(markdown: false, title: "", startLine: 1)
    for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      if line.hasPrefix("# %%") {
        if !current.lines.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) || !current.title.isEmpty { cells.append(current) }
        let rest = line.dropFirst(4).trimmingCharacters(in: .whitespaces)
        let md = rest.hasPrefix("[markdown]")
        current = Cell(markdown: md, title: md ? "" : rest, startLine: i + 2)
      } else {
        current.lines.append(String(line))
      }
    }
    if !current.lines.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { cells.append(current) }
    return cells
  }

  func run() throws {
    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
      throw ValidationError("cannot read script '\(file)': no such file")
    }
    let session = options.makeSession(forcedMode: DisplayMode.none)
    riad_set_busy(1)  // a second Ctrl-C while a cell runs stops riad at once
    var results: [Result] = []
    var failed = false
    for cell in Render.cells(text) {
      let r = Result(cell: cell)
      if !cell.markdown && !failed {
        session.interpreter.output = { r.text += $0 + "\n" }
        session.display.onShow = { if let image = try? $0.drawn() { r.images.append(image) } }
        // Pad with blank lines so that error locations match the script's lines.
        let source = String(repeating: "\n", count: cell.startLine - 1) + cell.lines.joined(separator: "\n")
        let status = execute(session, SourceFile(name: file, text: source), capture: r)
        if status != 0 { failed = true }
      }
      results.append(r)
    }
    try write(results)
    FileHandle.standardError.write("wrote \(output) (\(results.count) cells, \(results.reduce(0) { $0 + $1.images.count }) images)\n".data(using: .utf8)!)
    if failed { throw ExitCode(1) }
  }

  func execute(_ session: Session, _ source: SourceFile, capture r: Result) -> Int32 {
    do {
      try session.interpreter.run(source)
      return 0
    } catch let e as ScriptError {
      r.error = e.rendered
      FileHandle.standardError.write((e.rendered + "\n").data(using: .utf8)!)
      return e.kind == .interrupted ? 130 : 1
    } catch {
      r.error = "\(error)"
      return 1
    }
  }

  /// A small Markdown subset for prose cells: headings, bullet lists,
  /// paragraphs and `code`.
  static func html(markdown lines: [String], escape: (String) -> String) -> String {
    var out = "", paragraph: [String] = [], inList = false
    func inline(_ s: String) -> String {
      let parts = escape(s).split(separator: "`", omittingEmptySubsequences: false)
      return parts.enumerated().map { $0.offset % 2 == 1 ? "<code>\($0.element)</code>" : String($0.element) }.joined()
    }
    func flush() {
      if !paragraph.isEmpty { out += "<p>\(inline(paragraph.joined(separator: " ")))</p>\n"; paragraph = [] }
      if inList { out += "</ul>\n"; inList = false }
    }
    for line in lines {
      let t = line.trimmingCharacters(in: .whitespaces)
      if t.isEmpty { flush(); continue }
      if t.hasPrefix("#") {
        flush()
        let level = min(6, t.prefix { $0 == "#" }.count + 1)
        out += "<h\(level)>\(inline(t.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)))</h\(level)>\n"
      } else if t.hasPrefix("- ") || t.hasPrefix("* ") {
        if !paragraph.isEmpty { flush() }
        if !inList { out += "<ul>\n"; inList = true }
        out += "<li>\(inline(String(t.dropFirst(2))))</li>\n"
      } else {
        paragraph.append(t)
      }
    }
    flush()
    return out
  }

  func pngData(_ image: RGBImage) throws -> Data {
    let tmp = NSTemporaryDirectory() + "riad-render-\(getpid()).png"
    try PNG.write(image.tensor, to: tmp)
    defer { unlink(tmp) }
    return try Data(contentsOf: URL(fileURLWithPath: tmp))
  }

  func write(_ results: [Result]) throws {
    let title = (file as NSString).lastPathComponent
    var out = ""
    if output.hasSuffix(".md") {
      let folder = (output as NSString).deletingPathExtension + "_files"
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      var n = 0
      out = "# \(title)\n"
      for r in results {
        if r.cell.markdown {
          out += "\n" + r.cell.lines.map { $0.hasPrefix("# ") ? String($0.dropFirst(2)) : ($0 == "#" ? "" : $0) }.joined(separator: "\n") + "\n"
          continue
        }
        if !r.cell.title.isEmpty { out += "\n## \(r.cell.title)\n" }
        out += "\n```riad\n\(r.cell.lines.joined(separator: "\n").trimmingCharacters(in: .newlines))\n```\n"
        if !r.text.isEmpty { out += "\n```text\n\(r.text)```\n" }
        if let e = r.error { out += "\n```text\n\(e)\n```\n" }
        for img in r.images {
          n += 1
          let name = String(format: "image-%03d.png", n)
          try pngData(img).write(to: URL(fileURLWithPath: folder + "/" + name))
          out += "\n![image \(n)](\((folder as NSString).lastPathComponent)/\(name))\n"
        }
      }
    } else {
      func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
      }
      out = """
        <!doctype html><html><head><meta charset="utf-8"><title>\(esc(title))</title><style>
        body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}
        pre{background:#f6f6f6;padding:.6em;overflow-x:auto} pre.out{background:#fff;border-left:3px solid #ccc}
        pre.err{background:#fff0f0;border-left:3px solid #c33} img{image-rendering:pixelated;max-width:100%;display:block;margin:.5em 0}
        </style></head><body><h1>\(esc(title))</h1>

        """
      for r in results {
        if r.cell.markdown {
          let prose = r.cell.lines.map { $0.hasPrefix("# ") ? String($0.dropFirst(2)) : ($0 == "#" ? "" : $0) }
          out += Render.html(markdown: prose, escape: esc)
          continue
        }
        if !r.cell.title.isEmpty { out += "<h2>\(esc(r.cell.title))</h2>\n" }
        out += "<pre>\(esc(r.cell.lines.joined(separator: "\n").trimmingCharacters(in: .newlines)))</pre>\n"
        if !r.text.isEmpty { out += "<pre class=\"out\">\(esc(r.text))</pre>\n" }
        if let e = r.error { out += "<pre class=\"err\">\(esc(e))</pre>\n" }
        for img in r.images {
          out += "<img alt=\"image\" width=\"\(img.width * max(1, 256 / max(img.width, img.height)))\" src=\"data:image/png;base64,\(try pngData(img).base64EncodedString())\">\n"
        }
      }
      out += "</body></html>\n"
    }
    try Data(out.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
  }
}
