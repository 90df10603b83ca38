import Foundation
import RiadTensor
import RiadTestSupport
import XCTest

/// The command line of SPEC section 1 through the real executable.
final class CommandLineTests: RiadTestCase {
  func testEvaluateEchoesValuesAndExitStatuses() throws {
    let ok = try runRiad(["-e", "x = 2\nx * 21\nnil\n\"s\""])
    XCTAssertEqual(ok.stdout, "42\n\"s\"\n")
    XCTAssertEqual(ok.status, 0)
    let bad = try runRiad(["-e", "1 +* 2"])
    XCTAssertEqual(bad.status, 1)
    XCTAssertTrue(bad.stderr.hasPrefix("-e:1:4: error: expected an expression, got '*'"), bad.stderr)
    let usage = try runRiad(["--display", "hologram", "-e", "1"])
    XCTAssertEqual(usage.status, 2)
    XCTAssertTrue(usage.stderr.contains("--display must be one of"), usage.stderr)
    let missing = try runRiad(["/no/such/script.riad"])
    XCTAssertEqual(missing.status, 2)
    XCTAssertTrue(missing.stderr.contains("cannot read script '/no/such/script.riad'"), missing.stderr)
  }

  /// `riad bench --layers` names the OpenBLAS core and the kernels in use,
  /// and `--only` keeps the layers whose names start with its argument.
  func testBenchLayersNamesTheCoreAndTheKernels() throws {
    let args = ["bench", "--layers", "--size", "16", "--base", "2", "--batch", "1", "--steps", "1", "--warmup", "0", "--only", "up1"]
    let off = try runRiad(args + ["--kernels", "none"])
    XCTAssertEqual(off.status, 0, off.stderr)
    let lines = off.stdout.split(separator: "\n").map(String.init)
    XCTAssertTrue(lines.first?.hasPrefix("OpenBLAS core ") == true, off.stdout)
    XCTAssertTrue(lines.first?.contains("kernels: none") == true, off.stdout)
    let rows = lines.filter { $0.contains("×") && !$0.hasPrefix("sgemm") }
    XCTAssertEqual(rows.map { String($0.prefix(while: { $0 != " " })) }, ["up1.upconv", "up1.conv1", "up1.conv2"], off.stdout)
    // Each row: forward ms, GFLOP/s, % of sgemm, backward ms, GFLOP/s, % of
    // sgemm, then the path; the shares are the GFLOP/s against the sgemm
    // line's; the last line's milliseconds are the rows' sums (to their rounding).
    let numbers = rows.map { $0.split(separator: " ").suffix(7).dropLast().compactMap { Double($0) } }
    XCTAssertEqual(numbers.map(\.count), [6, 6, 6], off.stdout)
    let sgemm = lines.first { $0.hasPrefix("sgemm ") }.flatMap { $0.split(separator: " ").compactMap { Double($0) }.first }
    XCTAssertNotNil(sgemm, off.stdout)
    if let sgemm, numbers.allSatisfy({ $0.count == 6 }) {
      for row in numbers {
        XCTAssertEqual(row[2], (100 * row[1] / sgemm).rounded(), accuracy: 1 + 0.1 * 100 / sgemm, off.stdout)
        XCTAssertEqual(row[5], (100 * row[4] / sgemm).rounded(), accuracy: 1 + 0.1 * 100 / sgemm, off.stdout)
      }
    }
    let total = lines.last ?? ""
    XCTAssertTrue(total.hasPrefix("all conv layers: forward "), off.stdout)
    let totals = total.split(separator: " ").compactMap { Double($0) }
    XCTAssertEqual(totals.count, 2, total)
    if totals.count == 2 {
      XCTAssertEqual(numbers.map { $0[0] }.reduce(0, +), totals[0], accuracy: 0.05 + 0.01 * 3, off.stdout)
      XCTAssertEqual(numbers.map { $0[3] }.reduce(0, +), totals[1], accuracy: 0.05 + 0.01 * 3, off.stdout)
    }
    // A prefix that names no layer, or --only without --layers: one error, no table.
    let none = try runRiad(["bench", "--layers", "--size", "16", "--base", "2", "--only", "up9"])
    XCTAssertNotEqual(none.status, 0)
    XCTAssertTrue(none.stderr.contains("--only 'up9' starts no layer's name; the layers are down1.conv1, down1.conv2"), none.stderr)
    XCTAssertEqual(none.stdout, "")
    let alone = try runRiad(["bench", "--only", "up1"])
    XCTAssertNotEqual(alone.status, 0)
    XCTAssertTrue(alone.stderr.contains("--only picks layers of --layers"), alone.stderr)
    if let variant = KernelVariant.available.first {
      let on = try runRiad(args + ["--kernels", variant.rawValue])
      XCTAssertTrue(on.stdout.hasPrefix("OpenBLAS core "), on.stdout)
      XCTAssertTrue(on.stdout.split(separator: "\n").first?.contains("kernels: \(variant.isa)") == true, on.stdout)
    }
  }

  func testScriptOnStdinAndArguments() throws {
    let piped = try runRiad([], stdin: "print(\"from stdin\", 1 + 1)\n3\n")
    XCTAssertEqual(piped.stdout, "from stdin 2\n", "a script prints only through print")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("riad-cli-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let script = dir.appendingPathComponent("args.riad")
    try "print(ARGS, len(ARGS))\n".write(to: script, atomically: true, encoding: .utf8)
    XCTAssertEqual(try runRiad([script.path, "a", "--b", "3"]).stdout, "[\"a\", \"--b\", \"3\"] 3\n")
  }

  /// Ctrl-C (SIGINT) stops a script at a safe point with status 130, in the
  /// interpreter's loop and inside a training run.
  func testInterruptedScriptsExitWith130() throws {
    for code in ["i = 0\nwhile true { i += 1 }", "net = unet(base: 2, depth: 2)\ntrain(net, rand([4, 3, 8, 8]), epochs: 1000000, batch: 2)"] {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: riadExecutable)
      p.arguments = ["-e", code]
      let err = Pipe()
      p.standardError = err
      p.standardOutput = FileHandle.nullDevice
      try p.run()
      Thread.sleep(forTimeInterval: 1.0)
      kill(p.processIdentifier, SIGINT)
      let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      p.waitUntilExit()
      XCTAssertEqual(p.terminationStatus, 130, code)
      XCTAssertTrue(text.contains("interrupted"), text)
    }
  }

  func testVersionAndHelp() throws {
    let v = try runRiad(["--version"])
    XCTAssertEqual(v.status, 0)
    XCTAssertEqual(v.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0.1.0")
    let h = try runRiad(["--help"])
    XCTAssertEqual(h.status, 0)
    for word in ["render", "docs", "bench", "-e"] { XCTAssertTrue(h.stdout.contains(word), "help lacks \(word)") }
  }

  func testFilesDisplayWritesPNGAndPrintsTheLine() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("riad-files-\(getpid())")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = try runRiad(["--display", "files", "--out", dir.path, "-e", "show(ones([3, 8, 5]))"])
    XCTAssertEqual(out.status, 0, out.stderr)
    let path = dir.appendingPathComponent("image-001.png").path
    XCTAssertEqual(out.stdout, "[image 1: \(path) 5×8]\n")
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    XCTAssertEqual(Array(bytes.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
  }

  /// An OpenBLAS running a core weaker than the processor (here forced with
  /// OPENBLAS_CORETYPE=Prescott and RIAD_BLAS_CORE=auto) is replaced: riad
  /// relaunches itself with the best core and says so in `riad doctor`.
  /// `RIAD_BLAS_CORE=NAME` asks for a core; the user's own
  /// OPENBLAS_CORETYPE otherwise stands.
  func testAWeakBLASCoreIsReplaced() throws {
    let level = BLASCore.processorLevel
    guard let best = BLASCore.best(forLevel: level) else { throw XCTSkip("no vector level above SSE3 on this processor") }
    let fixed = try runRiad(["doctor"], environment: ["OPENBLAS_CORETYPE": "Prescott", "RIAD_BLAS_CORE": "auto"])
    XCTAssertEqual(fixed.status, 0, fixed.stderr)
    XCTAssertTrue(fixed.stdout.contains("OpenBLAS core \(best) "), fixed.stdout)
    XCTAssertTrue(fixed.stdout.contains("riad asked for \(best) (OPENBLAS_CORETYPE) because OpenBLAS chose Prescott"), fixed.stdout)
    let users = try runRiad(["doctor"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
    XCTAssertTrue(users.stdout.contains("OpenBLAS core Prescott "), users.stdout)
    let asked = try runRiad(["-e", "print(1 + 1)"], environment: ["RIAD_BLAS_CORE": "Prescott"])
    XCTAssertEqual(asked.stdout, "2\n", "arguments survive the relaunch")
    XCTAssertEqual(try runRiad(["doctor"], environment: ["RIAD_BLAS_CORE": "Prescott"]).stdout.contains("OpenBLAS core Prescott "), true)
  }

  /// `riad render FILE -o … [-o …] [-- ARGS…]`: one run, every format asked
  /// for, the script's arguments after `--`, the failing cell's error in the
  /// report, the cells below it marked not run, exit status 1.
  /// Two epochs, a training checkpoint, and two more in a new process give
  /// the weights of four epochs in one process, bit for bit; and a
  /// state_dict written by PyTorch loads from the language with its
  /// activation named.
  func testTrainingResumesInANewProcess() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("riad-resume-cli-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let setup = "ds = synthetic(size: 16, train: 10, test: 2, seed: 3)\n"
    let first = setup + """
      net = unet(base: 2, depth: 3)
      opt = adam(net, lr: 1e-3)
      train(net, ds, epochs: 2, batch: 4, opt: opt, ks: [2, 4, 8])
      save(net, ARGS[0] + "/half.safetensors", opt: opt)
      """
    let whole = setup + """
      net = unet(base: 2, depth: 3)
      train(net, ds, epochs: 4, batch: 4, lr: 1e-3, ks: [2, 4, 8])
      save(net, ARGS[0] + "/whole.safetensors")
      """
    let second = setup + """
      r = load_training(ARGS[0] + "/half.safetensors")
      print(r.epochs, r.steps, r.opt)
      train(r.net, ds, epochs: 2, batch: 4, opt: r.opt, ks: [2, 4, 8])
      a = params(r.net)
      b = params(load(ARGS[0] + "/whole.safetensors"))
      worst = 0
      for name in keys(a) { worst = max(worst, item(max(abs(a[name] - b[name])))) }
      print("largest difference", worst)
      """
    for script in [first, whole, second] {
      let file = dir.appendingPathComponent("s.riad")
      try script.write(to: file, atomically: true, encoding: .utf8)
      let o = try runRiad([file.path, dir.path])
      XCTAssertEqual(o.status, 0, o.stderr)
      if script == second {
        XCTAssertTrue(o.stdout.contains("2 6 adam(lr: 0.001, weight_decay: 1e-05) after 6 steps"), o.stdout)
        XCTAssertTrue(o.stdout.contains("largest difference 0\n"), o.stdout)
      }
    }
    let fixture = packageRoot.appendingPathComponent("Tests/Fixtures/torch-statedict/plain-f16.safetensors").path
    let o = try runRiad(["-e", "net = load(ARGS[0], out: \"tanh\")\nnet.config", fixture])
    XCTAssertEqual(o.status, 0, o.stderr)
    XCTAssertTrue(o.stdout.contains("{channels: 3, base: 4, depth: 3, out: \"tanh\"}"), o.stdout)
    let bad = try runRiad(["-e", "load_training(ARGS[0])", fixture])
    XCTAssertEqual(bad.status, 1)
    XCTAssertTrue(bad.stderr.contains("holds a model but no optimizer"), bad.stderr)
  }

  func testRenderWritesEveryFormatFromOneRun() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("riad-render-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let script = dir.appendingPathComponent("cells.riad")
    try """
      # %% [markdown]
      # # A lesson
      # Some prose.

      # %% First cell
      x = 20
      print("x is", x, "args", ARGS)

      # %%
      show(heatmap(rand([8, 8], seed: 1)))
      x + 1

      """.write(to: script, atomically: true, encoding: .utf8)
    let html = dir.appendingPathComponent("report.html"), md = dir.appendingPathComponent("report.md")
    let ipynb = dir.appendingPathComponent("report.ipynb")
    let r = try runRiad(["render", script.path, "-o", html.path, "-o", md.path, "-o", ipynb.path, "--", "2", "--fast"])
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertEqual(r.stderr.components(separatedBy: "wrote ").count - 1, 3, r.stderr)
    let page = try String(contentsOf: html, encoding: .utf8)
    XCTAssertTrue(page.contains("<h1>A lesson</h1>"))
    XCTAssertTrue(page.contains("x is 20 args [&quot;2&quot;, &quot;--fast&quot;]"), "ARGS after --")
    XCTAssertTrue(page.contains("Out[2]:</div><pre class=\"result\">21</pre>"))
    XCTAssertTrue(page.contains("data:image/png;base64,"))
    let text = try String(contentsOf: md, encoding: .utf8)
    XCTAssertTrue(text.contains("```riad\nx = 20"))
    XCTAssertTrue(text.contains("](report_files/image-001.png)"))
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("report_files/image-001.png").path))
    let notebook = try JSONSerialization.jsonObject(with: Data(contentsOf: ipynb)) as! [String: Any]
    XCTAssertEqual(notebook["nbformat"] as? Int, 4)

    try "# %%\nprint(1)\n# %%\nnope(2)\n# %%\nprint(3)\n".write(to: script, atomically: true, encoding: .utf8)
    let failed = try runRiad(["render", script.path, "-o", html.path])
    XCTAssertEqual(failed.status, 1)
    XCTAssertTrue(failed.stderr.contains("unknown name 'nope'"), failed.stderr)
    XCTAssertTrue(failed.stderr.contains("1 cell after it not run"), failed.stderr)
    let failedPage = try String(contentsOf: html, encoding: .utf8)
    XCTAssertTrue(failedPage.contains("<pre class=\"error\">"))
    XCTAssertTrue(failedPage.contains("not run: an earlier cell stopped"))

    let bad = try runRiad(["render", script.path, "-o", dir.appendingPathComponent("report.pdf").path])
    XCTAssertEqual(bad.status, 2)
    XCTAssertTrue(bad.stderr.contains("-o must name an .html, .md or .ipynb file, got"), bad.stderr)
    XCTAssertEqual(try runRiad(["render", script.path]).status, 2, "no -o")
  }
}

/// `riad docs` is the registry's reference, committed as docs/reference.md,
/// and every example in it runs.
final class DocsTests: RiadTestCase {
  func testReferenceMatchesRegistry() throws {
    let docs = try runRiad(["docs"])
    XCTAssertEqual(docs.status, 0)
    let committed = try String(contentsOf: packageRoot.appendingPathComponent("docs/reference.md"), encoding: .utf8)
    XCTAssertEqual(docs.stdout, committed, "docs/reference.md is stale: regenerate it with `riad docs > docs/reference.md`")
  }

  func testEveryExampleRuns() throws {
    let docs = try runRiad(["docs"]).stdout
    var examples: [(String, String)] = []
    var name = "", inCode = false, code: [String] = []
    for line in docs.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.hasPrefix("### `") { name = String(line.dropFirst(5).prefix { $0 != "(" }) }
      if line == "```riad" { inCode = true; code = []; continue }
      if line == "```" && inCode { inCode = false; examples.append((name, code.joined(separator: "\n"))); continue }
      if inCode { code.append(String(line)) }
    }
    XCTAssertGreaterThan(examples.count, 90)
    // One process runs them all, each in its own function scope, and says which failed.
    var program = ""
    for (i, (name, body)) in examples.enumerated() {
      program += "fn example\(i)() {\n\(body)\n}\n"
      program += "print(\"ok \(name)\")\nexample\(i)()\n"
    }
    let r = try runRiad(["-e", program])
    XCTAssertEqual(r.status, 0, "an example failed:\n\(r.stderr)\n\(r.stdout.split(separator: "\n").suffix(2))")
  }
}
