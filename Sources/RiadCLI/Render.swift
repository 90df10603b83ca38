import ArgumentParser
import CShims
import Foundation
import RiadImage
import RiadNotebook
import RiadREPL

/// `riad render FILE.riad -o OUT.html|OUT.md|OUT.ipynb [-- ARGS…]`: runs the
/// script cell by cell (Jupytext percent format) and writes its report.
struct Render: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a script cell by cell and write a report: HTML, Markdown or a Jupyter notebook.",
    discussion: """
      Cells follow the Jupytext percent format: '# %%' (with an optional title) starts a code cell,
      '# %% [markdown]' a prose cell of '# '-prefixed Markdown. Each code cell's report shows its source,
      what it printed, the pictures it showed and the value of its last expression (Out). After an
      error the remaining cells are marked as not run. Give -o more than once to write several formats
      from one run; arguments after '--' are the script's ARGS.
      """)

  @OptionGroup var options: GlobalOptions
  @ArgumentParser.Argument(help: "The .riad script (cells start with '# %%').") var file: String
  @Option(name: .shortAndLong, help: "The report: OUT.html (self-contained), OUT.md (with a folder OUT_files of PNGs) or OUT.ipynb (nbformat 4.5). Repeatable.")
  var output: [String] = []
  @ArgumentParser.Argument(parsing: .postTerminator, help: "Arguments for the script (ARGS inside it), after '--'.")
  var arguments: [String] = []

  func validate() throws {
    guard !output.isEmpty else { throw ValidationError("render needs -o OUT.html, OUT.md or OUT.ipynb") }
    for o in output where ReportFormat(path: o) == nil {
      throw ValidationError("-o must name an .html, .md or .ipynb file, got '\(o)'")
    }
  }

  func run() throws {
    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
      throw ValidationError("cannot read script '\(file)': no such file")
    }
    let session = options.makeSession(arguments: arguments, forcedMode: DisplayMode.none)
    riad_set_busy(1)  // a second Ctrl-C while a cell runs stops riad at once
    var notebook = Notebook.parse(text)
    notebook.run(in: session, file: file) { FileHandle.standardError.write(Data($0.utf8)) }
    riad_set_busy(0)
    let report = Report(notebook: notebook, title: (file as NSString).lastPathComponent, generator: "riad \(riadVersion)")
    let code = notebook.cells.filter { $0.kind == .code }
    let images = code.reduce(0) { $0 + $1.outputs.filter { if case .figure = $0 { return true } else { return false } }.count }
    for path in output {
      do { try report.write(to: path) } catch {
        FileHandle.standardError.write(Data("render: cannot write '\(path)': \(error)\n".utf8))
        throw ExitCode(1)
      }
      FileHandle.standardError.write(Data("wrote \(path) (\(notebook.cells.count) cells, \(images) images)\n".utf8))
    }
    if notebook.interrupted { throw ExitCode(130) }
    if !notebook.succeeded {
      let notRun = code.filter { $0.state == .notRun }.count
      FileHandle.standardError.write(Data("render: a cell failed; \(notRun) cell\(notRun == 1 ? "" : "s") after it not run\n".utf8))
      throw ExitCode(1)
    }
  }
}
