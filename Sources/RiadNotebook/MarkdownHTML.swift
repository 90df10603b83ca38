import Foundation
import RiadLang

/// The Markdown of prose cells as HTML: headings, paragraphs, bullet and
/// numbered lists, fenced code, block quotes, and inline `code`, **bold**,
/// *emphasis* and [links](url). Everything else is text, escaped.
public enum MarkdownHTML {
  /// `# ` headings become `<h{top}>` (the page may have its own h1).
  public static func render(_ markdown: String, top: Int = 2) -> String {
    var out = "", paragraph: [String] = [], list: String? = nil, fence: [String]? = nil, quote: [String] = []
    func closeParagraph() {
      if !paragraph.isEmpty { out += "<p>\(inline(paragraph.joined(separator: " ")))</p>\n"; paragraph = [] }
      if !quote.isEmpty { out += "<blockquote><p>\(inline(quote.joined(separator: " ")))</p></blockquote>\n"; quote = [] }
    }
    func closeAll() {
      closeParagraph()
      if let l = list { out += "</\(l)>\n"; list = nil }
    }
    for line in markdown.components(separatedBy: "\n") {
      let t = line.trimmingCharacters(in: .whitespaces)
      if var code = fence {
        if t.hasPrefix("```") { out += "<pre><code>\(Highlight.html(code.joined(separator: "\n")))</code></pre>\n"; fence = nil }
        else { code.append(line); fence = code }
        continue
      }
      if t.hasPrefix("```") { closeAll(); fence = []; continue }
      if t.isEmpty { closeAll(); continue }
      if let level = heading(t, top: top) {
        closeAll()
        let text = t.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
        out += "<h\(level)>\(inline(text))</h\(level)>\n"
      } else if let item = listItem(t) {
        closeParagraph()
        if list != item.tag { if let l = list { out += "</\(l)>\n" }; out += "<\(item.tag)>\n"; list = item.tag }
        out += "<li>\(inline(item.text))</li>\n"
      } else if t.hasPrefix(">") {
        if !paragraph.isEmpty { closeParagraph() }
        quote.append(t.dropFirst().trimmingCharacters(in: .whitespaces))
      } else if list != nil && line.hasPrefix("  ") {
        // A continuation line of the last list item.
        out = String(out.dropLast("</li>\n".count)) + " \(inline(t))</li>\n"
      } else {
        if let l = list { out += "</\(l)>\n"; list = nil }
        paragraph.append(t)
      }
    }
    if let code = fence { out += "<pre><code>\(Highlight.html(code.joined(separator: "\n")))</code></pre>\n" }
    closeAll()
    return out
  }

  static func heading(_ t: String, top: Int) -> Int? {
    let hashes = t.prefix { $0 == "#" }.count
    guard (1...6).contains(hashes), t.dropFirst(hashes).first == " " else { return nil }
    return min(6, hashes + top - 1)
  }

  static func listItem(_ t: String) -> (tag: String, text: String)? {
    if t.hasPrefix("- ") || t.hasPrefix("* ") { return ("ul", String(t.dropFirst(2))) }
    let digits = t.prefix { $0.isNumber }
    if !digits.isEmpty, t.dropFirst(digits.count).hasPrefix(". ") { return ("ol", String(t.dropFirst(digits.count + 2))) }
    return nil
  }

  /// Inline spans: `code` first (its inside is literal), then links, bold
  /// and emphasis in the text between.
  public static func inline(_ s: String) -> String {
    let parts = s.split(separator: "`", omittingEmptySubsequences: false)
    guard parts.count % 2 == 1 else { return spans(s) }  // an unpaired backtick is text
    return parts.enumerated().map { i, p in i % 2 == 1 ? "<code>\(Highlight.escape(String(p)))</code>" : spans(String(p)) }.joined()
  }

  static func spans(_ s: String) -> String {
    var out = Highlight.escape(s)
    out = replace(out, #"\[([^\]]+)\]\(([^)\s]+)\)"#, "<a href=\"$2\">$1</a>")
    out = replace(out, #"\*\*([^*]+)\*\*"#, "<strong>$1</strong>")
    out = replace(out, #"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])"#, "<em>$1</em>")
    return out
  }

  static func replace(_ s: String, _ pattern: String, _ template: String) -> String {
    guard let re = try? NSRegularExpression(pattern: pattern) else { return s }
    return re.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: template)
  }
}

/// riad source as HTML with its keywords, strings, numbers and comments marked.
public enum Highlight {
  public static func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.count)
    for c in s {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      default: out.append(c)
      }
    }
    return out
  }

  public static func html(_ source: String) -> String {
    let chars = Array(source)
    var out = "", i = 0
    func span(_ cls: String, _ text: String) { out += "<span class=\"\(cls)\">\(escape(text))</span>" }
    while i < chars.count {
      let c = chars[i]
      if c == "#" {
        var j = i
        while j < chars.count, chars[j] != "\n" { j += 1 }
        span("c", String(chars[i..<j])); i = j
      } else if c == "\"" {
        var j = i + 1
        while j < chars.count, chars[j] != "\"", chars[j] != "\n" { j += chars[j] == "\\" ? 2 : 1 }
        j = min(j + 1, chars.count)
        span("s", String(chars[i..<j])); i = j
      } else if c.isNumber {
        var j = i
        while j < chars.count, chars[j].isNumber || chars[j] == "_" || chars[j] == "e"
                || (chars[j] == "." && j + 1 < chars.count && chars[j + 1].isNumber)
                || ((chars[j] == "-" || chars[j] == "+") && j > i && chars[j - 1] == "e") { j += 1 }
        span("n", String(chars[i..<j])); i = j
      } else if c.isLetter || c == "_" {
        var j = i
        while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
        let word = String(chars[i..<j])
        if keywords.contains(word) { span("k", word) } else { out += escape(word) }
        i = j
      } else {
        out += escape(String(c)); i += 1
      }
    }
    return out
  }
}
