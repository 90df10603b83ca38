import Foundation
import RiadBuiltins
import RiadLang

/// Tab completion: builtins, variables and keywords; fields after `name.`;
/// paths inside a string literal.
public enum Completion {
  /// The candidates for the text before the cursor, and the word they replace.
  public static func candidates(_ line: String, _ session: Session) -> (word: String, options: [String]) {
    // Inside a string (an odd number of quotes before the cursor): a path.
    if line.filter({ $0 == "\"" }).count % 2 == 1, let q = line.lastIndex(of: "\"") {
      let partial = String(line[line.index(after: q)...])
      return (partial, paths(partial))
    }
    var word = ""
    for ch in line.reversed() {
      if ch.isLetter || ch.isNumber || ch == "_" || ch == "." { word.insert(ch, at: word.startIndex) } else { break }
    }
    if let dot = word.lastIndex(of: ".") {
      let base = String(word[..<dot]), partial = String(word[word.index(after: dot)...])
      let fields = fieldNames(base, session)
      return (partial, fields.filter { $0.hasPrefix(partial) }.sorted())
    }
    let names = Set(session.interpreter.globals.names + session.registry.names + keywords.sorted())
    return (word, names.filter { $0.hasPrefix(word) }.sorted())
  }

  /// The fields of the value a dotted name refers to (`ds.` → train, test, …).
  static func fieldNames(_ path: String, _ session: Session) -> [String] {
    let parts = path.split(separator: ".").map(String.init)
    guard let first = parts.first, var value = session.interpreter.globals.lookup(first) else { return [] }
    for p in parts.dropFirst() {
      switch value {
      case .record(let r): guard let v = r[p] else { return [] }; value = v
      case .host(let h): guard let v = h.field(p) else { return [] }; value = v
      default: return []
      }
    }
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

  /// The longest prefix all options share.
  public static func commonPrefix(_ options: [String]) -> String {
    guard var p = options.first else { return "" }
    for o in options.dropFirst() { while !o.hasPrefix(p) { p.removeLast() } }
    return p
  }
}
