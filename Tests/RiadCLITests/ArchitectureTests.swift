import Foundation
import RiadTestSupport
import XCTest

/// docs/architecture.md lists every module's imports; they must be the
/// `import` lines of Sources/ (system modules aside), so the map stays true.
final class ArchitectureTests: RiadTestCase {
  static let system: Set<String> = ["Foundation", "Dispatch", "Synchronization", "Glibc", "Darwin", "XCTest"]

  func testImportTableMatchesTheSources() throws {
    let doc = try String(contentsOf: packageRoot.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
    var documented: [String: Set<String>] = [:]
    for line in doc.split(separator: "\n") where line.hasPrefix("| `") {
      let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
      guard cells.count >= 4 else { continue }
      let imports = cells[3] == "—" ? [] : cells[3].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
      for module in cells[1].split(separator: ",") {
        documented[module.trimmingCharacters(in: CharacterSet(charactersIn: " `"))] = Set(imports)
      }
    }
    let sources = packageRoot.appendingPathComponent("Sources")
    let modules = try FileManager.default.contentsOfDirectory(atPath: sources.path).sorted()
    var checked = 0
    for module in modules {
      let dir = sources.appendingPathComponent(module)
      guard let files = FileManager.default.enumerator(atPath: dir.path)?.compactMap({ $0 as? String }).filter({ $0.hasSuffix(".swift") }),
            !files.isEmpty else { continue }
      var imports = Set<String>()
      for f in files {
        let text = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
        for line in text.split(separator: "\n") where line.hasPrefix("import ") {
          let name = String(line.dropFirst("import ".count)).trimmingCharacters(in: .whitespaces)
          if !Self.system.contains(name) { imports.insert(name) }
        }
      }
      XCTAssertEqual(documented[module], imports, "docs/architecture.md's imports of \(module)")
      checked += 1
    }
    XCTAssertGreaterThan(checked, 9)
  }
}
