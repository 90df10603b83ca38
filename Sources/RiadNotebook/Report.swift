import Foundation
import RiadImage

/// The formats a run notebook is written in, chosen by the file's extension.
public enum ReportFormat: String, CaseIterable {
  /// One self-contained page, pictures embedded.
  case html
  /// Markdown with the pictures in a sibling folder `NAME_files/`.
  case md
  /// An nbformat 4.5 notebook: Jupyter, VS Code and code-hosting sites open it.
  case ipynb

  public init?(path: String) {
    self.init(rawValue: (path as NSString).pathExtension.lowercased())
  }
}

/// Writes a run notebook as a report.
public struct Report {
  public let notebook: Notebook
  /// The heading: the script's file name.
  public let title: String
  /// Who wrote it (`riad 0.1.0`), named in the page and the notebook's metadata.
  public let generator: String

  public init(notebook: Notebook, title: String, generator: String) {
    self.notebook = notebook; self.title = title; self.generator = generator
  }

  /// Writes the report to `path` in the format its extension names.
  /// The file appears whole or not at all.
  public func write(to path: String) throws {
    guard let format = ReportFormat(path: path) else {
      throw ReportError("cannot write '\(path)': a report is .html, .md or .ipynb")
    }
    let bytes: [UInt8]
    switch format {
    case .html: bytes = Array(try html().utf8)
    case .ipynb: bytes = try ipynb()
    case .md:
      let folder = (path as NSString).deletingPathExtension + "_files"
      let (text, images) = try markdown(folder: (folder as NSString).lastPathComponent)
      if !images.isEmpty {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (name, png) in images { try Data(png).write(to: URL(fileURLWithPath: folder + "/" + name), options: .atomic) }
      }
      bytes = Array(text.utf8)
    }
    try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
  }

  /// The notebook's own title: the `# ` heading its first prose cell opens
  /// with. A notebook with one needs no heading from the file name.
  public var ownTitle: String? {
    guard let first = notebook.cells.first, first.kind == .markdown,
          let line = first.markdown.split(separator: "\n").first, line.hasPrefix("# ") else { return nil }
    return String(line.dropFirst(2)).trimmingCharacters(in: .whitespaces)
  }

  public static let notRunNote = "not run: an earlier cell stopped"

  // MARK: - HTML

  public func html() throws -> String {
    var out = """
      <!doctype html>
      <html lang="en"><head><meta charset="utf-8">
      <meta name="viewport" content="width=device-width, initial-scale=1">
      <meta name="generator" content="\(esc(generator))">
      <title>\(esc(ownTitle ?? title))</title>
      <style>\(Report.style)</style>
      </head><body><main>

      """
    if ownTitle == nil { out += "<h1 class=\"title\">\(esc(title))</h1>\n" }
    for cell in notebook.cells {
      if cell.kind == .markdown {
        out += "<section class=\"prose\">\n\(MarkdownHTML.render(cell.markdown, top: ownTitle == nil ? 2 : 1))</section>\n"
        continue
      }
      let notRun = cell.state == .notRun
      out += "<section class=\"cell\(notRun ? " not-run" : "")\">\n"
      if !cell.title.isEmpty { out += "<h3 class=\"cell-title\">\(esc(cell.title))</h3>\n" }
      let prompt = cell.executionCount.map { "In [\($0)]:" } ?? "In [ ]:"
      out += "<div class=\"row\"><div class=\"prompt\">\(prompt)</div><pre class=\"source\"><code>\(Highlight.html(cell.source))</code></pre></div>\n"
      if notRun { out += "<p class=\"note\">\(Report.notRunNote)</p>\n" }
      for output in cell.outputs {
        switch output {
        case .stdout(let s): out += "<div class=\"row\"><div class=\"prompt\"></div><pre class=\"stdout\">\(esc(s.trimmingTrailingNewlines))</pre></div>\n"
        case .stderr(let s): out += "<div class=\"row\"><div class=\"prompt\"></div><pre class=\"stderr\">\(esc(s.trimmingTrailingNewlines))</pre></div>\n"
        case .figure(let image, let alt):
          let png = try PNG.encode(image)
          out += "<div class=\"row\"><div class=\"prompt\"></div><img alt=\"\(esc(alt))\" width=\"\(image.width)\" height=\"\(image.height)\" src=\"data:image/png;base64,\(Data(png).base64EncodedString())\"></div>\n"
        case .result(let s):
          out += "<div class=\"row\"><div class=\"prompt out\">Out[\(cell.executionCount ?? 0)]:</div><pre class=\"result\">\(esc(s))</pre></div>\n"
        case .error(let s): out += "<div class=\"row\"><div class=\"prompt\"></div><pre class=\"error\">\(esc(s))</pre></div>\n"
        }
      }
      out += "</section>\n"
    }
    out += "<footer>Rendered by \(esc(generator)).</footer>\n</main></body></html>\n"
    return out
  }

  static let style = """
    body{margin:0;background:#fafafa;color:#1d1d1f;font:16px/1.55 system-ui,-apple-system,"Segoe UI",sans-serif}
    main{max-width:58rem;margin:0 auto;padding:1.5rem 1.25rem 3rem}
    h1.title{font-size:1.5rem;margin:.5rem 0 1.5rem;color:#444;font-weight:600}
    .prose h1{font-size:1.9rem;margin-top:.5rem}
    .prose h1,.prose h2,.prose h3{line-height:1.25;margin:1.6rem 0 .6rem}
    .prose code{background:#eef0f3;padding:.1em .3em;border-radius:3px;font-size:.92em}
    .prose pre{background:#eef0f3;padding:.6rem .8rem;border-radius:4px;overflow-x:auto}
    .cell{margin:1rem 0;padding:.4rem 0}
    .cell-title{margin:.2rem 0 .3rem 5.2rem;font-size:.95rem;color:#555;font-weight:600}
    .row{display:flex;align-items:flex-start;gap:.6rem;margin:.25rem 0}
    .prompt{flex:0 0 4.6rem;text-align:right;font:13px/1.9 ui-monospace,Menlo,Consolas,monospace;color:#307fc1}
    .prompt.out{color:#bf5b3d}
    pre{margin:0;flex:1;min-width:0;overflow-x:auto;font:14px/1.45 ui-monospace,Menlo,Consolas,monospace;padding:.5rem .7rem;border-radius:4px}
    pre.source{background:#f1f3f6;border:1px solid #dde1e6}
    pre.stdout,pre.result{background:#fff}
    pre.stderr{background:#fdf1ee;color:#6d4c41}
    pre.error{background:#fde8e8;color:#8a1c1c;border-left:3px solid #c62828}
    .not-run pre.source{opacity:.55}
    .note{margin:.2rem 0 0 5.2rem;color:#8a1c1c;font-style:italic;font-size:.92rem}
    img{max-width:100%;height:auto;image-rendering:pixelated;border:1px solid #e3e3e3;background:#fff}
    .k{color:#a626a4;font-weight:600}.s{color:#50a14f}.n{color:#986801}.c{color:#8a8f98;font-style:italic}
    footer{margin-top:3rem;color:#999;font-size:.85rem}
    """

  func esc(_ s: String) -> String { Highlight.escape(s) }

  // MARK: - Markdown

  /// The Markdown text and the pictures it links to (file name, PNG bytes).
  public func markdown(folder: String) throws -> (String, [(String, [UInt8])]) {
    var out = ownTitle == nil ? "# \(title)\n" : ""
    var images: [(String, [UInt8])] = []
    for cell in notebook.cells {
      if cell.kind == .markdown { out += (out.isEmpty ? "" : "\n") + "\(cell.markdown)\n"; continue }
      if !cell.title.isEmpty { out += "\n**\(cell.title)**\n" }
      out += "\n```riad\n\(cell.source)\n```\n"
      if cell.state == .notRun { out += "\n*\(Report.notRunNote)*\n" }
      for output in cell.outputs {
        switch output {
        case .stdout(let s), .stderr(let s): out += "\n```text\n\(s.trimmingTrailingNewlines)\n```\n"
        case .result(let s): out += "\nOut[\(cell.executionCount ?? 0)]:\n\n```text\n\(s)\n```\n"
        case .error(let s): out += "\n```text\n\(s)\n```\n"
        case .figure(let image, let alt):
          let name = String(format: "image-%03d.png", images.count + 1)
          images.append((name, try PNG.encode(image)))
          out += "\n![\(alt)](\(folder)/\(name))\n"
        }
      }
    }
    return (out, images)
  }

  // MARK: - ipynb (nbformat 4.5)

  /// The notebook as nbformat 4.5 JSON: code cells keep their title in
  /// `metadata.title` (as Jupytext does), outputs are `stream`,
  /// `display_data` (image/png), `execute_result` and `error`; a cell that
  /// did not run has no execution count, as in Jupyter.
  public func ipynb() throws -> [UInt8] {
    var cells: [[String: Any]] = []
    for (i, cell) in notebook.cells.enumerated() {
      var c: [String: Any] = ["id": String(format: "cell-%03d", i + 1), "cell_type": cell.kind.rawValue]
      if cell.kind == .markdown {
        c["metadata"] = [String: Any]()
        c["source"] = Report.lines(cell.markdown)
        cells.append(c)
        continue
      }
      var metadata: [String: Any] = [:]
      if !cell.title.isEmpty { metadata["title"] = cell.title }
      if cell.state == .notRun { metadata["riad"] = ["status": "not run"] }
      c["metadata"] = metadata
      c["source"] = Report.lines(cell.source)
      c["execution_count"] = cell.executionCount.map { $0 as Any } ?? NSNull()
      c["outputs"] = try cell.outputs.map { output -> [String: Any] in
        switch output {
        case .stdout(let s): return ["output_type": "stream", "name": "stdout", "text": Report.lines(s)]
        case .stderr(let s): return ["output_type": "stream", "name": "stderr", "text": Report.lines(s)]
        case .figure(let image, let alt):
          return ["output_type": "display_data", "metadata": ["image/png": ["width": image.width, "height": image.height]],
                  "data": ["image/png": Data(try PNG.encode(image)).base64EncodedString(), "text/plain": [alt]]]
        case .result(let s):
          return ["output_type": "execute_result", "execution_count": cell.executionCount ?? 0, "metadata": [String: Any](),
                  "data": ["text/plain": Report.lines(s)]]
        case .error(let s):
          let first = s.split(separator: "\n").first.map(String.init) ?? s
          return ["output_type": "error", "ename": s.contains("interrupted") ? "Interrupted" : "Error",
                  "evalue": first, "traceback": s.components(separatedBy: "\n")]
        }
      }
      cells.append(c)
    }
    let document: [String: Any] = [
      "nbformat": 4, "nbformat_minor": 5, "cells": cells,
      "metadata": [
        "kernelspec": ["name": "riad", "display_name": "riad", "language": "riad"],
        "language_info": ["name": "riad", "file_extension": ".riad", "mimetype": "text/x-riad"],
        "riad": ["generator": generator],
      ],
    ]
    return Array(JSONText.write(document).utf8)
  }

  /// Text as Jupyter stores it: lines that keep their newline, the last
  /// without one unless the text ends with it.
  static func lines(_ text: String) -> [String] {
    guard !text.isEmpty else { return [] }
    var parts = text.components(separatedBy: "\n")
    let endsWithNewline = parts.last == ""
    if endsWithNewline { parts.removeLast() }
    return parts.enumerated().map { i, line in i < parts.count - 1 || endsWithNewline ? line + "\n" : line }
  }
}

public struct ReportError: Error, CustomStringConvertible {
  public let description: String
  init(_ message: String) { description = message }
}

extension String {
  var trimmingTrailingNewlines: String {
    var s = self
    while s.hasSuffix("\n") { s.removeLast() }
    return s
  }
}
