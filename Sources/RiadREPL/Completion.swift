import Foundation
import RiadBuiltins
import RiadImage
import RiadLang

/// Tab completion: builtins, variables and keywords; fields after `name.`
/// (nested ones too) and, after a value that has none, the builtins that
/// take it first (method sugar); paths inside a string; `:` commands and
/// their arguments; names after `?`.
public enum Completion {
  /// What Tab offers for a `:` command's argument.
  enum Argument {
    case nothing, code, paths, displayModes, helpTopics
  }

  /// The candidates for the text before the cursor, and the word they replace.
  public static func candidates(_ line: String, _ session: Session) -> (word: String, options: [String]) {
    if line.hasPrefix(":") { return commandCandidates(line, session) }
    if line.hasPrefix("?") {
      let word = String(line.dropFirst()).trimmingCharacters(in: .whitespaces)
      return (word, names(session).filter { $0.hasPrefix(word) }.sorted())
    }
    // Inside a string (an odd number of quotes before the cursor): a path.
    if line.filter({ $0 == "\"" }).count % 2 == 1, let q = line.lastIndex(of: "\"") {
      let partial = String(line[line.index(after: q)...])
      return (partial, paths(partial))
    }
    return codeCandidates(line, session)
  }

  static func codeCandidates(_ line: String, _ session: Session) -> (word: String, options: [String]) {
    var word = ""
    for ch in line.reversed() {
      if ch.isLetter || ch.isNumber || ch == "_" || ch == "." { word.insert(ch, at: word.startIndex) } else { break }
    }
    if let dot = word.lastIndex(of: ".") {
      let base = String(word[..<dot]), partial = String(word[word.index(after: dot)...])
      return (partial, members(base, session).filter { $0.hasPrefix(partial) }.sorted())
    }
    let all = Set(session.interpreter.globals.names + session.registry.names + keywords.sorted())
    return (word, all.filter { $0.hasPrefix(word) }.sorted())
  }

  /// The `:` commands, then their arguments.
  static func commandCandidates(_ line: String, _ session: Session) -> (word: String, options: [String]) {
    guard let space = line.firstIndex(of: " ") else {
      let names = REPL.commands.flatMap { [$0.name] + $0.aliases }
      return (line, names.filter { $0.hasPrefix(line) }.sorted())
    }
    let name = String(line[..<space])
    let word = String(line[line.index(after: space)...]).trimmingCharacters(in: .whitespaces)
    switch REPL.command(named: name)?.completes ?? .nothing {
    case .nothing: return (word, [])
    case .code: return codeCandidates(word, session)
    case .paths: return (word, paths(word))
    case .displayModes: return (word, DisplayMode.allCases.map(\.rawValue).filter { $0.hasPrefix(word) })
    case .helpTopics:
      let topics = names(session) + REPL.commands.map(\.name)
      return (word, topics.filter { $0.hasPrefix(word) }.sorted())
    }
  }

  /// Builtins and variables (what `?` and `:help` describe).
  static func names(_ session: Session) -> [String] {
    Array(Set(session.interpreter.globals.names + session.registry.names))
  }

  /// What may follow `path.`: the fields of the value it names, else the
  /// builtins whose first parameter takes that value (`t.sum()`).
  static func members(_ path: String, _ session: Session) -> [String] {
    guard let value = resolve(path, session) else { return [] }
    let fields = fieldNames(of: value)
    if !fields.isEmpty { return fields }
    return session.registry.all.filter { b in
      guard let p = b.params.first, !p.variadic, p.type != .any else { return false }
      if case .success = p.type.convert(value) { return true }
      return false
    }.map(\.name)
  }

  /// The value a dotted name refers to (`ds.train`, `r.inner.depth`).
  static func resolve(_ path: String, _ session: Session) -> Value? {
    let parts = path.split(separator: ".").map(String.init)
    guard let first = parts.first, var value = session.interpreter.globals.lookup(first) else { return nil }
    for p in parts.dropFirst() {
      switch value {
      case .record(let r): guard let v = r[p] else { return nil }; value = v
      case .host(let h): guard let v = h.field(p) else { return nil }; value = v
      default: return nil
      }
    }
    return value
  }

  /// The field names of a record or a host object.
  public static func fieldNames(of value: Value) -> [String] {
    switch value {
    case .record(let r): return r.keys
    case .host(let h): return h.fieldNames
    default: return []
    }
  }

  static func paths(_ partial: String) -> [String] {
    let expanded = (partial as NSString).expandingTildeInPath
    let dir = partial.hasSuffix("/") ? expanded : (expanded as NSString).deletingLastPathComponent
    let prefix = partial.hasSuffix("/") ? "" : (expanded as NSString).lastPathComponent
    let listDir = dir.isEmpty ? "." : dir
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: listDir) else { return [] }
    let typedDir = partial.hasSuffix("/") ? partial : String(partial.dropLast(prefix.count))
    return names.filter { $0.hasPrefix(prefix) && !($0.hasPrefix(".") && !prefix.hasPrefix(".")) }.sorted().map { name in
      var isDir: ObjCBool = false
      _ = FileManager.default.fileExists(atPath: (listDir as NSString).appendingPathComponent(name), isDirectory: &isDir)
      return typedDir + name + (isDir.boolValue ? "/" : "")
    }
  }

  /// What Tab does: the text it inserts (the options' common prefix, and
  /// an opening parenthesis after a single builtin in code, but not after
  /// `?` or in a `:` command, which take names), and the options to list
  /// when it inserts nothing.
  public static func tab(_ line: String, _ session: Session) -> (insert: String, options: [String]) {
    let (word, options) = candidates(line, session)
    guard !options.isEmpty else { return ("", []) }
    let common = commonPrefix(options)
    let opensCall = options.count == 1 && session.registry[common] != nil && !line.contains(".")
      && !line.hasSuffix("\"") && !line.hasPrefix("?") && !line.hasPrefix(":")
    return (String(common.dropFirst(word.count)) + (opensCall ? "(" : ""), options)
  }

  /// The longest prefix all options share.
  public static func commonPrefix(_ options: [String]) -> String {
    guard var p = options.first else { return "" }
    for o in options.dropFirst() { while !o.hasPrefix(p) { p.removeLast() } }
    return p
  }
}
