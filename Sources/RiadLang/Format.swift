import Foundation
import RiadTensor

/// Text forms of values: `print` (strings raw) and echo/`str` inside
/// containers (strings quoted).
public enum Format {
  /// The form `print` uses: a string prints as itself.
  public static func plain(_ v: Value) -> String {
    if case .string(let s) = v { return s }
    return repr(v)
  }

  /// The literal-like form used for echo and inside lists and records.
  public static func repr(_ v: Value, depth: Int = 0) -> String {
    if depth > 8 { return "…" }
    switch v {
    case .number(let x): return formatNumber(x)
    case .string(let s): return quote(s)
    case .bool(let b): return b ? "true" : "false"
    case .none: return "nil"
    case .list(let l):
      let items = l.items.prefix(100).map { repr($0, depth: depth + 1) }
      return "[" + items.joined(separator: ", ") + (l.items.count > 100 ? ", … (\(l.items.count) items)" : "") + "]"
    case .record(let r):
      return "{" + r.pairs.map { "\(isIdentifier($0.0) ? $0.0 : quote($0.0)): \(repr($0.1, depth: depth + 1))" }
        .joined(separator: ", ") + "}"
    case .range(let a, let b): return "\(a)..<\(b)"
    case .tensor(let t): return depth == 0 ? tensor(t) : tensorSummary(t)
    case .function(let c): return "fn \(c.decl.name)(\(c.decl.params.map(\.name).joined(separator: ", ")))"
    case .builtin(let b): return "builtin \(b.name)(\(b.params.map(\.name).joined(separator: ", ")))"
    case .host(let h): return h.summary
    }
  }

  public static func quote(_ s: String) -> String {
    "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
      .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t") + "\""
  }

  static func isIdentifier(_ s: String) -> Bool {
    guard let f = s.first, f.isLetter || f == "_" else { return false }
    return s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } && !keywords.contains(s)
  }

  /// `tensor [8, 3, 64, 64] float32  min 0 max 1 mean 0.47`
  public static func tensorSummary(_ t: Tensor) -> String {
    var s = "tensor \(t.shape.shapeString) float32"
    if t.count > 0 {
      // min and max of the numbers; the mean is NaN when any element is,
      // and the NaN count is said.
      var lo = Float.infinity, hi = -Float.infinity, sum = 0.0, nans = 0
      for v in t.data {
        if v.isNaN { nans += 1; continue }
        lo = Swift.min(lo, v); hi = Swift.max(hi, v); sum += Double(v)
      }
      if nans == t.count { lo = .nan; hi = .nan }
      s += "  min \(short(Double(lo))) max \(short(Double(hi))) mean \(short(nans > 0 ? .nan : sum / Double(t.count)))"
      if nans > 0 { s += "  (\(nans) nan)" }
    }
    if t.requiresGrad { s += t.gradOp == nil ? "  (param)" : "  (grad: \(t.gradOp!))" }
    return s
  }

  /// The summary line plus the values when small (≤ 2-D, ≤ 64 elements).
  public static func tensor(_ t: Tensor) -> String {
    let head = tensorSummary(t)
    guard t.rank <= 2, t.count <= 64, t.count > 0 else { return head }
    let cells = t.data.map { short(Double($0)) }
    let width = cells.map(\.count).max() ?? 1
    func pad(_ s: String) -> String { String(repeating: " ", count: width - s.count) + s }
    switch t.rank {
    case 0: return head + "\n" + cells[0]
    case 1: return head + "\n[" + cells.map(pad).joined(separator: ", ") + "]"
    default:
      let cols = t.shape[1]
      let rows = (0..<t.shape[0]).map { r in " [" + cells[(r * cols)..<((r + 1) * cols)].map(pad).joined(separator: ", ") + "]" }
      return head + "\n[" + rows.joined(separator: ",\n").dropFirst() + "]"
    }
  }

  /// Four significant digits, integral values without a point.
  public static func short(_ v: Double) -> String {
    if v.isNaN { return "nan" }
    if v.isInfinite { return v > 0 ? "inf" : "-inf" }
    if v == v.rounded(), abs(v) < 1e9 { return String(Int(v)) }
    var s = String(format: "%.4g", v)
    if s.contains("e") { s = s.replacingOccurrences(of: "e-0", with: "e-").replacingOccurrences(of: "e+0", with: "e+") }
    return s
  }
}
