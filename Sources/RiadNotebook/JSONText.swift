import Foundation

/// JSON as Jupyter writes notebooks: keys sorted, one-space indents, a
/// space after each colon, text as UTF-8 (only what JSON requires escaped),
/// so that a notebook in version control changes line by line.
public enum JSONText {
  /// `value` is a string, Int, Double, Bool, NSNull, array or string-keyed
  /// dictionary of those.
  public static func write(_ value: Any) -> String {
    var out = ""
    emit(value, indent: 0, into: &out)
    return out + "\n"
  }

  private static func emit(_ value: Any, indent: Int, into out: inout String) {
    let pad = String(repeating: " ", count: indent + 1), close = String(repeating: " ", count: indent)
    switch value {
    case let s as String: quote(s, into: &out)
    case let b as Bool: out += b ? "true" : "false"
    case let i as Int: out += String(i)
    case let d as Double: out += d.isFinite ? (d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : "\(d)") : "null"
    case is NSNull: out += "null"
    case let a as [Any]:
      if a.isEmpty { out += "[]"; return }
      out += "[\n"
      for (i, e) in a.enumerated() {
        out += pad
        emit(e, indent: indent + 1, into: &out)
        out += i < a.count - 1 ? ",\n" : "\n"
      }
      out += close + "]"
    case let d as [String: Any]:
      if d.isEmpty { out += "{}"; return }
      out += "{\n"
      let keys = d.keys.sorted()
      for (i, k) in keys.enumerated() {
        out += pad
        quote(k, into: &out)
        out += ": "
        emit(d[k]!, indent: indent + 1, into: &out)
        out += i < keys.count - 1 ? ",\n" : "\n"
      }
      out += close + "}"
    default:
      preconditionFailure("JSONText: \(type(of: value)) is not a JSON value")
    }
  }

  private static func quote(_ s: String, into out: inout String) {
    out += "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where u.value < 0x20 || u.value == 0x7f: out += String(format: "\\u%04x", u.value)
      default: out.unicodeScalars.append(u)
      }
    }
    out += "\""
  }
}
