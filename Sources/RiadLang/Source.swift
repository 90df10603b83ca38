/// A program's text with a name for messages (`lesson.riad`, `<repl>`, `-e`).
public final class SourceFile {
  public let name: String
  public let text: String
  public let lines: [Substring]

  public init(name: String, text: String) {
    self.name = name
    self.text = text
    lines = text.split(separator: "\n", omittingEmptySubsequences: false)
  }

  /// The text of 1-based line `n`, without its newline.
  public func line(_ n: Int) -> String {
    n >= 1 && n <= lines.count ? String(lines[n - 1]).replacingOccurrences(of: "\r", with: "") : ""
  }
}

/// Where a token or node lies: file, 1-based line and column, and length.
public struct SourceRange: Equatable, CustomStringConvertible {
  public let file: SourceFile?
  public let line: Int, column: Int, length: Int

  public init(file: SourceFile?, line: Int, column: Int, length: Int) {
    self.file = file; self.line = line; self.column = column; self.length = length
  }

  public static let none = SourceRange(file: nil, line: 0, column: 0, length: 0)

  /// The range from the start of `self` to the end of `other` (same line) or just `self`.
  public func through(_ other: SourceRange) -> SourceRange {
    guard other.line == line, other.column >= column else { return self }
    return SourceRange(file: file, line: line, column: column, length: other.column + other.length - column)
  }

  public var description: String { "\(file?.name ?? "?"):\(line):\(column)" }

  public static func == (a: SourceRange, b: SourceRange) -> Bool {
    a.file === b.file && a.line == b.line && a.column == b.column && a.length == b.length
  }
}

/// An error in a riad program, with where it happened and the function
/// frames it passed through (innermost first).
public struct ScriptError: Error, CustomStringConvertible {
  public enum Kind { case syntax, runtime, interrupted }
  public let kind: Kind
  public let message: String
  public let range: SourceRange
  /// True when more input could complete the program (the REPL continues).
  public let incomplete: Bool
  public var frames: [(name: String, range: SourceRange)] = []

  public init(_ kind: Kind, _ message: String, at range: SourceRange, incomplete: Bool = false) {
    self.kind = kind; self.message = message; self.range = range; self.incomplete = incomplete
  }

  /// `FILE:LINE:COL: error: message`, the source line, a caret, and frames.
  public var rendered: String {
    if kind == .interrupted {
      return range.file == nil ? "interrupted" : "\(range): interrupted"
    }
    guard let file = range.file else { return "error: \(message)" }
    var out = "\(range): error: \(message)\n"
    var src = file.line(range.line)
    var column = range.column
    // A very long line shows a window of 100 characters around the column.
    if src.count > 120 {
      let start = max(0, min(column - 50, src.count - 100))
      let window = String(Array(src)[start..<min(src.count, start + 100)])
      src = (start > 0 ? "…" : "") + window + (start + 100 < src.count ? "…" : "")
      column = column - start + (start > 0 ? 1 : 0)
    }
    if !src.isEmpty {
      out += "    " + src + "\n"
      let pad = String(src.prefix(max(0, column - 1)).map { $0 == "\t" ? "\t" : " " })
      out += "    " + pad + "^" + String(repeating: "~", count: max(0, min(range.length, src.count - column + 1) - 1)) + "\n"
    }
    // Consecutive identical frames (deep recursion) print once with a count.
    var i = 0
    while i < frames.count {
      var j = i + 1
      while j < frames.count && frames[j].name == frames[i].name && frames[j].range == frames[i].range { j += 1 }
      out += "  in \(frames[i].name) at \(frames[i].range.file?.name ?? "?"):\(frames[i].range.line)"
      out += j - i > 1 ? " (\(j - i - 1) more times)\n" : "\n"
      i = j
    }
    return String(out.dropLast())
  }

  public var description: String { rendered }

  /// The rendered error with "error:" in bold red and the caret in green,
  /// for terminals (callers skip it when `NO_COLOR` is set or stderr is not a tty).
  public var coloured: String {
    var lines = rendered.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if let first = lines.first, let r = first.range(of: " error: ") {
      lines[0] = first[..<r.lowerBound] + " \u{1b}[1;31merror:\u{1b}[0m\u{1b}[1m " + first[r.upperBound...] + "\u{1b}[0m"
    }
    if lines.count > 2, lines[2].trimmingCharacters(in: .whitespaces).hasPrefix("^") {
      lines[2] = lines[2].replacingOccurrences(of: "^", with: "\u{1b}[32m^").replacingOccurrences(of: "~", with: "~") + "\u{1b}[0m"
    }
    return lines.joined(separator: "\n")
  }

  /// How errors should print on standard error: coloured on a terminal
  /// unless `NO_COLOR` is set.
  public static var useColour: Bool {
    isatty(2) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
  }

  /// The form to print on standard error.
  public var forStandardError: String { ScriptError.useColour ? coloured : rendered }
}

import Foundation

/// Levenshtein distance, for "did you mean" hints.
public func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a), b = Array(b)
  if a.isEmpty { return b.count }
  if b.isEmpty { return a.count }
  var prev = Array(0...b.count), cur = prev
  for i in 1...a.count {
    cur[0] = i
    for j in 1...b.count {
      cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
    }
    swap(&prev, &cur)
  }
  return prev[b.count]
}

/// The closest candidate within a small distance, as ". Did you mean 'x'?" or "".
public func didYouMean(_ name: String, _ candidates: [String]) -> String {
  let limit = max(1, min(3, name.count / 3 + 1))
  var best: (name: String, distance: Int)? = nil
  let lower = name.lowercased()
  for c in candidates where c != name {
    let d = editDistance(lower, c.lowercased())
    guard d <= limit else { continue }
    if let b = best, b.distance < d || (b.distance == d && b.name <= c) { continue }
    best = (c, d)
  }
  return best.map { ". Did you mean '\($0.name)'?" } ?? ""
}
