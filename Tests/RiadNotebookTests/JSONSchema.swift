import Foundation

/// A validator for the part of JSON Schema draft 4 that nbformat's schema
/// uses: type, enum, properties, required, additionalProperties,
/// patternProperties, items, uniqueItems, minimum, maximum, minLength,
/// maxLength, pattern, oneOf, not and local `$ref`s. Each failure is named
/// by its JSON path.
struct JSONSchema {
  let root: [String: Any]

  init(contentsOf url: URL) throws {
    root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
  }

  /// Every way `value` breaks the schema (empty when it is valid).
  func errors(_ value: Any) -> [String] {
    var out: [String] = []
    check(value, root, path: "$", into: &out)
    return out
  }

  private func resolve(_ ref: String) -> [String: Any] {
    precondition(ref.hasPrefix("#/"), "only local references: \(ref)")
    var node: Any = root
    for part in ref.dropFirst(2).split(separator: "/") { node = (node as! [String: Any])[String(part)]! }
    return node as! [String: Any]
  }

  private func check(_ value: Any, _ schema: [String: Any], path: String, into out: inout [String]) {
    if let ref = schema["$ref"] as? String { check(value, resolve(ref), path: path, into: &out); return }
    if let types = schema["type"] {
      let allowed = (types as? [String]) ?? [types as! String]
      guard allowed.contains(where: { JSONSchema.isType(value, $0) }) else {
        out.append("\(path): expected \(allowed.joined(separator: " or ")), got \(JSONSchema.typeName(value))"); return
      }
    }
    if let options = schema["enum"] as? [Any], !options.contains(where: { JSONSchema.equal($0, value) }) {
      out.append("\(path): \(value) is not one of \(options)")
    }
    if let s = value as? String {
      if let n = schema["minLength"] as? Int, s.count < n { out.append("\(path): shorter than \(n)") }
      if let n = schema["maxLength"] as? Int, s.count > n { out.append("\(path): longer than \(n)") }
      if let p = schema["pattern"] as? String, !JSONSchema.matches(s, p) { out.append("\(path): '\(s)' does not match \(p)") }
    }
    if JSONSchema.isType(value, "number"), let d = (value as? NSNumber)?.doubleValue {
      if let m = (schema["minimum"] as? NSNumber)?.doubleValue, d < m { out.append("\(path): \(d) < minimum \(m)") }
      if let m = (schema["maximum"] as? NSNumber)?.doubleValue, d > m { out.append("\(path): \(d) > maximum \(m)") }
    }
    if let object = value as? [String: Any] {
      let properties = schema["properties"] as? [String: Any] ?? [:]
      let patterns = schema["patternProperties"] as? [String: Any] ?? [:]
      for key in schema["required"] as? [String] ?? [] where object[key] == nil { out.append("\(path): missing '\(key)'") }
      for (key, v) in object {
        var matched = false
        if let p = properties[key] as? [String: Any] { check(v, p, path: "\(path).\(key)", into: &out); matched = true }
        for (pattern, p) in patterns where JSONSchema.matches(key, pattern) {
          check(v, p as! [String: Any], path: "\(path).\(key)", into: &out); matched = true
        }
        if !matched {
          if let extra = schema["additionalProperties"] as? Bool, !extra { out.append("\(path): unexpected property '\(key)'") }
          if let extra = schema["additionalProperties"] as? [String: Any] { check(v, extra, path: "\(path).\(key)", into: &out) }
        }
      }
    }
    if let array = value as? [Any] {
      if let items = schema["items"] as? [String: Any] {
        for (i, v) in array.enumerated() { check(v, items, path: "\(path)[\(i)]", into: &out) }
      }
      if schema["uniqueItems"] as? Bool == true {
        for i in array.indices { for j in array.indices where j > i && JSONSchema.equal(array[i], array[j]) { out.append("\(path): items \(i) and \(j) are equal") } }
      }
    }
    if let options = schema["oneOf"] as? [[String: Any]] {
      let passing = options.filter { o in var e: [String] = []; check(value, o, path: path, into: &e); return e.isEmpty }.count
      if passing != 1 { out.append("\(path): matches \(passing) of the oneOf alternatives, not exactly one") }
    }
    if let not = schema["not"] as? [String: Any] {
      var e: [String] = []
      check(value, not, path: path, into: &e)
      if e.isEmpty { out.append("\(path): matches a schema it must not") }
    }
  }

  static func isType(_ v: Any, _ type: String) -> Bool {
    switch type {
    case "object": return v is [String: Any]
    case "array": return v is [Any]
    case "string": return v is String
    case "null": return v is NSNull
    case "boolean": return isBool(v)
    case "integer": return !isBool(v) && (v as? NSNumber).map { $0.doubleValue == $0.doubleValue.rounded() } ?? false
    case "number": return !isBool(v) && v is NSNumber
    default: return false
    }
  }

  static func isBool(_ v: Any) -> Bool {
    // JSONSerialization gives booleans as NSNumbers of Objective-C type
    // `c` (char); numbers are `q` or `d`.
    guard let n = v as? NSNumber else { return false }
    return String(cString: n.objCType) == "c"
  }

  static func typeName(_ v: Any) -> String {
    ["object", "array", "string", "null", "boolean", "integer", "number"].first { isType(v, $0) } ?? "\(type(of: v))"
  }

  static func matches(_ s: String, _ pattern: String) -> Bool {
    guard let re = try? NSRegularExpression(pattern: pattern) else { return false }
    return re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
  }

  static func equal(_ a: Any, _ b: Any) -> Bool {
    (a as? NSObject)?.isEqual(b as? NSObject) ?? false
  }
}
