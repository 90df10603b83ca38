import Foundation
import RiadTestSupport
import XCTest

/// The root of the package, from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The riad executable the tests drive: the one built beside this test
/// bundle (same configuration, same sanitizer), else a build in the package.
let riadExecutable: String = {
  let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("riad").path
  if FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
  for config in ["release", "debug"] {
    let path = packageRoot.appendingPathComponent(".build/\(config)/riad").path
    if FileManager.default.isExecutableFile(atPath: path) { return path }
  }
  return packageRoot.appendingPathComponent(".build/release/riad").path
}()

struct Outcome {
  let stdout: String, stderr: String, status: Int32
}

/// Runs riad with arguments (and optional stdin) and collects everything.
func runRiad(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], cwd: URL? = nil) throws -> Outcome {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: riadExecutable)
  p.arguments = arguments
  var env = ProcessInfo.processInfo.environment
  env["RIAD_DISPLAY"] = env["RIAD_DISPLAY"] ?? "none"
  for (k, v) in environment { env[k] = v }
  p.environment = env
  if let cwd { p.currentDirectoryURL = cwd }
  let out = Pipe(), err = Pipe(), input = Pipe()
  p.standardOutput = out
  p.standardError = err
  p.standardInput = input
  try p.run()
  if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
  try input.fileHandleForWriting.close()
  // Read both pipes fully before waiting, so a full pipe never blocks the child.
  final class Box: @unchecked Sendable { var data = Data() }
  let stderrBox = Box()
  let group = DispatchGroup()
  group.enter()
  DispatchQueue.global().async { stderrBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
  let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
  group.wait()
  let stderrData = stderrBox.data
  p.waitUntilExit()
  return Outcome(stdout: String(decoding: stdoutData, as: UTF8.self), stderr: String(decoding: stderrData, as: UTF8.self),
                 status: p.terminationStatus)
}

/// Golden scripts: every `Scripts/*.riad` runs through the real executable.
/// `# expect: TEXT` lines give stdout, line by line and in order;
/// `# error: TEXT` lines must each appear in stderr (and the status is 1);
/// `# status: N` overrides the expected exit status. Each script runs twice:
/// as it is, and with a cycle collection before every statement and at
/// every return (`RIAD_COLLECT_EVERY=1`), which must change nothing.
final class ScriptTests: RiadTestCase {
  func testGoldenScripts() throws {
    let dir = packageRoot.appendingPathComponent("Tests/RiadCLITests/Scripts")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".riad") }.sorted()
    XCTAssertGreaterThan(files.count, 5)
    for name in files {
      let path = dir.appendingPathComponent(name).path
      let text = try String(contentsOfFile: path, encoding: .utf8)
      var expected: [String] = [], errors: [String] = [], status: Int32? = nil
      for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        guard let r = line.range(of: "# ") else { continue }
        let comment = line[r.upperBound...]
        if comment.hasPrefix("expect: ") { expected.append(String(comment.dropFirst(8))) }
        if comment == "expect:" { expected.append("") }
        if comment.hasPrefix("error: ") { errors.append(String(comment.dropFirst(7))) }
        if comment.hasPrefix("status: ") { status = Int32(comment.dropFirst(8)) }
      }
      for (mode, environment) in [("", [String: String]()), (" (collecting at every statement)", ["RIAD_COLLECT_EVERY": "1"])] {
        let outcome = try runRiad([path], environment: environment)
        let lines = outcome.stdout.isEmpty ? [] : outcome.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).dropLast(outcome.stdout.hasSuffix("\n") ? 1 : 0)
        XCTAssertEqual(Array(lines), expected, "\(name)\(mode): stdout differs\nstderr: \(outcome.stderr)")
        for e in errors {
          XCTAssertTrue(outcome.stderr.contains(e), "\(name)\(mode): stderr lacks «\(e)»; it was:\n\(outcome.stderr)")
        }
        XCTAssertEqual(outcome.status, status ?? (errors.isEmpty ? 0 : 1), "\(name)\(mode): exit status; stderr: \(outcome.stderr)")
      }
    }
  }
}
