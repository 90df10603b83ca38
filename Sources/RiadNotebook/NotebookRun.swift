import Foundation
import RiadBuiltins
import RiadImage
import RiadLang

extension Notebook {
  /// Runs the code cells in order in one session, recording what each
  /// printed, showed and returned, in order. After a cell fails (or is
  /// interrupted) the cells below it are left not run. `echoError` also
  /// receives what goes to standard error (progress, errors), so that the
  /// person rendering sees it as it happens.
  public mutating func run(in session: Session, file: String, echoError: @escaping (String) -> Void = { _ in }) {
    let display = session.display
    let savedOutput = session.interpreter.output, savedError = session.errorOutput
    let savedShow = display.onShow, savedTerminal = session.progressIsTerminal
    defer {
      session.interpreter.output = savedOutput
      session.errorOutput = savedError
      display.onShow = savedShow
      session.progressIsTerminal = savedTerminal
    }
    // Progress comes as whole lines, never redrawn in place.
    session.progressIsTerminal = false
    var stopped = false
    var count = 0
    for i in cells.indices where cells[i].kind == .code {
      if stopped { cells[i].state = .notRun; continue }
      count += 1
      cells[i].executionCount = count
      var outputs: [Output] = []
      session.interpreter.output = { outputs.append(text: $0 + "\n", stderr: false) }
      session.errorOutput = { outputs.append(text: $0, stderr: true); echoError($0) }
      display.onShow = { figure in
        if let image = try? Notebook.forReading(figure) { outputs.append(.figure(image, alt: figure.title ?? "figure")) }
      }
      // Blank lines in front keep error locations on the script's lines.
      let text = String(repeating: "\n", count: max(0, cells[i].startLine - 1)) + cells[i].lines.joined(separator: "\n")
      do {
        if let value = try session.interpreter.run(SourceFile(name: file, text: text)) {
          outputs.append(.result(Format.repr(value)))
        }
        cells[i].state = .ran
      } catch let e as ScriptError {
        outputs.append(.error(e.rendered))
        echoError(e.rendered + "\n")
        cells[i].state = e.kind == .interrupted ? .interrupted : .failed
        stopped = true
      } catch {
        outputs.append(.error("error: \(error)"))
        echoError("error: \(error)\n")
        cells[i].state = .failed
        stopped = true
      }
      cells[i].outputs = outputs.map(\.tidied)
    }
  }

  /// Whether every code cell ran.
  public var succeeded: Bool { !cells.contains { $0.kind == .code && $0.state != .ran } }

  /// Whether a cell was stopped by Ctrl-C.
  public var interrupted: Bool { cells.contains { $0.state == .interrupted } }

  /// A figure drawn and scaled up by a whole factor (crisp pixels in every
  /// viewer) until it reads well on a page: a lone image to about 320
  /// pixels; a figure with words doubled when that fits the page's column
  /// (840 pixels), so that captions come in one of two sizes only.
  public static func forReading(_ figure: Figure) throws -> RGBImage {
    let image = try figure.drawn()
    let (w, h) = (max(image.width, 1), max(image.height, 1))
    let factor = figure.isBareImage ? max(1, min(16, 320 / max(w, h))) : max(1, min(2, 840 / w, 900 / h))
    return factor == 1 ? image : image.scaled(by: factor)
  }
}

extension Array where Element == Notebook.Output {
  /// Appends text, joining it to the stream before it when that is the same.
  mutating func append(text: String, stderr: Bool) {
    switch (last, stderr) {
    case (.stdout(let s)?, false): self[count - 1] = .stdout(s + text)
    case (.stderr(let s)?, true): self[count - 1] = .stderr(s + text)
    default: append(stderr ? .stderr(text) : .stdout(text))
    }
  }
}

extension Notebook.Output {
  /// Standard error without the carriage-return redraws of a terminal.
  var tidied: Notebook.Output {
    guard case .stderr(let s) = self else { return self }
    let lines = s.components(separatedBy: "\n").map { line in
      line.components(separatedBy: "\r").last { !$0.isEmpty } ?? ""
    }
    return .stderr(lines.joined(separator: "\n").replacingOccurrences(of: "\u{1b}[K", with: ""))
  }
}
