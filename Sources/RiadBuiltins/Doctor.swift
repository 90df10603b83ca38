import Foundation
import RiadImage
import RiadTensor

extension Session {
  /// `riad doctor` and `:doctor`: what the display chose and why, what the
  /// terminal and tmux said, the window, what riad computes with, and how
  /// to fix a missing capability.
  public func doctorReport(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    let d = display, t = display.terminal
    var lines = ["display: \(d.mode.rawValue) — \(d.reason)"]
    let box = d.box()
    lines.append("  window: \(t.columns)×\(t.rows) cells of \(t.cellWidth)×\(t.cellHeight) px (\(t.cellSizeSource)); pictures up to \(box.maxWidth)×\(box.maxHeight) px, \(box.columns)×\(box.rows) cells")
    let env = ["TERM", "TERM_PROGRAM", "COLORTERM", "LC_TERMINAL"].map { "\($0)=\(environment[$0] ?? "")" }.joined(separator: " ")
    lines.append("  environment: \(env)")
    lines.append("  standard input \(t.stdinIsTerminal ? "is" : "is not") a terminal, standard output \(t.stdoutIsTerminal ? "is" : "is not")")
    for note in t.notes { lines.append("  \(note)") }
    if let tmux = t.tmux {
      lines.append("  tmux: \(tmux.version ?? "version unknown"), allow-passthrough \(tmux.passthrough ?? "unknown")\(tmux.nativeSixel ? ", draws sixel itself" : "")")
    }
    lines.append("compute: OpenBLAS core \(ComputeInfo.blasCore) (\(ComputeInfo.blasConfig)); kernels: \(ComputeInfo.kernelISA); \(workerThreads) worker threads")
    if let note = BLASCore.note { lines.append("  \(note)") }
    let fixes = doctorAdvice(t, environment: environment)
    if !fixes.isEmpty {
      lines.append("to see pictures inline:")
      lines += fixes.map { "  - \($0)" }
    }
    return lines.joined(separator: "\n")
  }

  func doctorAdvice(_ t: TerminalInfo, environment: [String: String]) -> [String] {
    var out: [String] = []
    let mode = display.mode
    if !t.stdoutIsTerminal {
      out.append("standard output is not a terminal, so pictures go to PNG files in --out (now \(display.outDir)); run riad in a terminal to see them inline")
    }
    if let tmux = t.tmux, !tmux.nativeSixel, mode == .blocks {
      if !tmux.passthroughAllowed {
        out.append("tmux: add `set -g allow-passthrough on` to ~/.tmux.conf (tmux 3.3 or later), then start riad with --display sixel, kitty or iterm, whichever your terminal speaks")
      } else {
        out.append("tmux passes pictures through, but riad cannot ask the terminal outside tmux what it speaks: start riad with --display sixel, kitty or iterm")
      }
      out.append("tmux 3.4 or later built with --enable-sixel draws sixel itself, with no passthrough")
    }
    if t.tmux == nil && t.stdoutIsTerminal && mode == .blocks {
      if (environment["TERM"] ?? "").hasPrefix("xterm") && environment["TERM_PROGRAM"] == nil {
        out.append("xterm: start it as `xterm -ti vt340` (or set XTerm*decTerminalID: vt340) to get sixel graphics")
      }
      out.append("terminals with pixel graphics: kitty, Ghostty, WezTerm, Konsole (kitty protocol), iTerm2 and VS Code (iTerm2 protocol), foot, mlterm, xterm -ti vt340 (sixel); --display chooses one by hand")
    }
    if t.stdoutIsTerminal && t.cellSizeSource.hasPrefix("assumed") && mode != .blocks {
      out.append("the terminal did not report its size in pixels, so pictures are fitted for \(t.cellWidth)×\(t.cellHeight)-pixel cells; show(x, width: …) sets a width in columns")
    }
    return out
  }
}
