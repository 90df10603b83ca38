/// Tokens of the riad language.
public struct Token: Equatable {
  public enum Kind: Equatable {
    case number(Double), string(String), identifier(String), keyword(String)
    case symbol(String), newline, eof
  }
  public let kind: Kind
  public let range: SourceRange

  /// How the token reads in messages: `'+'`, `number 3`, `end of input`.
  public var display: String {
    switch kind {
    case .number(let v): return "number \(formatNumber(v))"
    case .string(let s): return "string \"\(s)\""
    case .identifier(let s): return "'\(s)'"
    case .keyword(let s): return "'\(s)'"
    case .symbol(let s): return "'\(s)'"
    case .newline: return "end of line"
    case .eof: return "end of input"
    }
  }
}

public let keywords: Set<String> = [
  "fn", "return", "if", "else", "while", "for", "in", "break", "continue",
  "and", "or", "not", "true", "false", "nil",
]

/// Symbols, longest first so that `...` wins over `..` and `<=` over `<`.
let symbols = ["...", "..<", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=",
               "+", "-", "*", "/", "%", "@", "^", "<", ">", "=", "(", ")", "[", "]",
               "{", "}", ",", ":", ";", "."]

/// Turns source text into tokens. A newline becomes a token only where it can
/// end a statement: not inside `( )` or `[ ]`, and not after a binary
/// operator, a comma or an opening bracket.
public struct Lexer {
  let file: SourceFile
  let chars: [Character]
  var i = 0, line = 1, col = 1
  var depth = 0   // ( and [ nesting

  public init(_ file: SourceFile) {
    self.file = file
    chars = Array(file.text)
  }

  static let continuesAfter: Set<String> = [
    "+", "-", "*", "/", "%", "@", "^", "<", ">", "=", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=",
    "...", "..<", ",", "(", "[", ":", ".",
  ]

  public mutating func tokenize() throws -> [Token] {
    var tokens: [Token] = []
    func continues() -> Bool {
      guard let last = tokens.last else { return true }
      switch last.kind {
      case .symbol(let s): return Lexer.continuesAfter.contains(s)
      case .keyword(let k): return k == "and" || k == "or" || k == "not"
      case .newline: return true
      default: return false
      }
    }
    while i < chars.count {
      let c = chars[i]
      let start = (line, col)
      func range(_ len: Int) -> SourceRange { SourceRange(file: file, line: start.0, column: start.1, length: len) }
      if c == "\n" || c == "\r\n" {
        if depth == 0 && !continues() { tokens.append(Token(kind: .newline, range: range(1))) }
        advance(); continue
      }
      if c == " " || c == "\t" || c == "\r" { advance(); continue }
      if c == "#" { while i < chars.count && chars[i] != "\n" && chars[i] != "\r\n" { advance() }; continue }
      if c.isNumber && c.isASCII || (c == "." && i + 1 < chars.count && chars[i + 1].isASCII && chars[i + 1].isNumber && !previousIsValue(tokens)) {
        let (v, n) = try number()
        tokens.append(Token(kind: .number(v), range: range(n))); continue
      }
      if c.isLetter || c == "_" {
        var s = ""
        while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" { s.append(chars[i]); advance() }
        tokens.append(Token(kind: keywords.contains(s) ? .keyword(s) : .identifier(s), range: range(s.count))); continue
      }
      if c == "\"" {
        let s = try string()
        tokens.append(Token(kind: .string(s.value), range: range(s.length))); continue
      }
      // Two newcomer habits, each answered with what to write instead.
      if matches("..") && !matches("...") && !matches("..<") {
        let before = tokens.last.map { source(of: $0) } ?? "a", after = nextWord(from: i + 2)
        throw ScriptError(.syntax, "'..' is not a range: write \(before)..<\(after) (up to \(after), without it) or \(before)...\(after) (with it)", at: range(2))
      }
      if c == "'" {
        var j = i + 1
        var text = ""
        while j < chars.count, chars[j] != "'", chars[j] != "\n" { text.append(chars[j]); j += 1 }
        throw ScriptError(.syntax, "strings use double quotes: write \"\(text)\"", at: range(1))
      }
      if let sym = symbols.first(where: { matches($0) }) {
        for _ in sym { advance() }
        if sym == "(" || sym == "[" { depth += 1 }
        if (sym == ")" || sym == "]") && depth > 0 { depth -= 1 }
        if sym == ";" {
          if !continues() { tokens.append(Token(kind: .newline, range: range(1))) }
          continue
        }
        tokens.append(Token(kind: .symbol(sym), range: range(sym.count))); continue
      }
      throw ScriptError(.syntax, "unexpected character '\(c)'", at: range(1))
    }
    tokens.append(Token(kind: .eof, range: SourceRange(file: file, line: line, column: col, length: 1)))
    return tokens
  }

  /// The text of a token, for messages.
  func source(of t: Token) -> String {
    switch t.kind {
    case .number(let v): return formatNumber(v)
    case .identifier(let n): return n
    default: return "a"
    }
  }

  /// The number or name that starts at `j`, for messages ("b" when none).
  func nextWord(from j: Int) -> String {
    var k = j, w = ""
    while k < chars.count, chars[k].isLetter || chars[k].isNumber || chars[k] == "_" { w.append(chars[k]); k += 1 }
    return w.isEmpty ? "b" : w
  }

  func previousIsValue(_ tokens: [Token]) -> Bool {
    switch tokens.last?.kind {
    case .identifier, .number, .string, .symbol(")"), .symbol("]"): return true
    default: return false
    }
  }

  func matches(_ s: String) -> Bool {
    var j = i
    for ch in s { guard j < chars.count, chars[j] == ch else { return false }; j += 1 }
    return true
  }

  mutating func advance() {
    if chars[i] == "\n" || chars[i] == "\r\n" { line += 1; col = 1 } else { col += 1 }
    i += 1
  }

  mutating func number() throws -> (Double, Int) {
    let startCol = col
    var s = ""
    func digits() { while i < chars.count, chars[i].isASCII, chars[i].isNumber || chars[i] == "_" { if chars[i] != "_" { s.append(chars[i]) }; advance() } }
    digits()
    // a fraction, but not the start of a range operator `..<` / `...`
    if i < chars.count, chars[i] == ".", !(i + 1 < chars.count && chars[i + 1] == ".") {
      s.append("."); advance(); digits()
    }
    if i < chars.count, chars[i] == "e" || chars[i] == "E" {
      var j = i + 1
      if j < chars.count, chars[j] == "+" || chars[j] == "-" { j += 1 }
      if j < chars.count, chars[j].isASCII, chars[j].isNumber {
        s.append("e"); advance()
        if chars[i] == "+" || chars[i] == "-" { s.append(chars[i]); advance() }
        digits()
      }
    }
    guard let v = Double(s.hasPrefix(".") ? "0" + s : s) else {
      throw ScriptError(.syntax, "malformed number '\(s)'", at: SourceRange(file: file, line: line, column: startCol, length: s.count))
    }
    return (v, col - startCol)
  }

  mutating func string() throws -> (value: String, length: Int) {
    let startLine = line, startCol = col
    advance()
    var s = ""
    while i < chars.count, chars[i] != "\"" {
      if chars[i] == "\n" || chars[i] == "\r\n" { break }
      if chars[i] == "\\" {
        advance()
        guard i < chars.count else { break }
        switch chars[i] {
        case "n": s.append("\n")
        case "t": s.append("\t")
        case "\"": s.append("\"")
        case "\\": s.append("\\")
        default:
          throw ScriptError(.syntax, "unknown escape '\\\(chars[i])' in string (use \\n \\t \\\" \\\\)",
                            at: SourceRange(file: file, line: line, column: col - 1, length: 2))
        }
        advance()
      } else {
        s.append(chars[i]); advance()
      }
    }
    guard i < chars.count, chars[i] == "\"" else {
      throw ScriptError(.syntax, "unterminated string", at: SourceRange(file: file, line: startLine, column: startCol, length: 1))
    }
    advance()
    return (s, col - startCol)
  }
}

/// Numbers print without a point when integral: `3`, `0.25`, `1e-05`.
public func formatNumber(_ v: Double) -> String {
  if v.isNaN { return "nan" }
  if v.isInfinite { return v > 0 ? "inf" : "-inf" }
  if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
  var s = "\(v)"
  if s.count > 12 { s = String(format: "%.6g", v) }
  return s
}

import Foundation
