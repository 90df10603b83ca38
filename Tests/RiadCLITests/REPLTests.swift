import CShims
import Foundation
import RiadTestSupport
import XCTest

/// The REPL driven through a real pseudo-terminal, the way a person types.
/// `setsid --ctty` makes the pty riad's controlling terminal, so that ^C
/// typed into it raises SIGINT through the line discipline.
final class PTY {
  let master: Int32
  let process = Process()
  var output = ""

  init(environment: [String: String]) throws {
    var name = [CChar](repeating: 0, count: 256)
    master = riad_open_pty(&name, 256)
    guard master >= 0 else { throw NSError(domain: "pty", code: 1) }
    let slave = open(String(cString: name), O_RDWR | O_NOCTTY)
    var ws = winsize(ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0)
    _ = ioctl(slave, UInt(TIOCSWINSZ), &ws)
    let handle = FileHandle(fileDescriptor: slave, closeOnDealloc: true)
    process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
    process.arguments = ["--ctty", riadExecutable]
    var env = ProcessInfo.processInfo.environment
    env["TERM"] = "xterm"
    for (k, v) in environment { env[k] = v }
    process.environment = env
    process.standardInput = handle
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
  }

  func send(_ text: String) {
    _ = text.withCString { write(master, $0, strlen($0)) }
  }

  /// Reads what riad has written so far, waiting at most `ms` milliseconds.
  /// Returns false at end of file.
  @discardableResult
  func pump(_ ms: Int32) -> Bool {
    var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
    guard poll(&pfd, 1, ms) > 0 else { return true }
    var buf = [UInt8](repeating: 0, count: 4096)
    let n = read(master, &buf, 4096)
    if n > 0 { output += String(decoding: buf[0..<n], as: UTF8.self) }
    return n > 0
  }

  /// Reads until `text` has appeared since `from` (an offset into output), or fails after a timeout.
  @discardableResult
  func expect(_ text: String, after from: String.Index? = nil, timeout: Double = 10,
              file: StaticString = #filePath, line: UInt = #line) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if output[(from ?? output.startIndex)...].contains(text) { return true }
      if !pump(100) { break }
    }
    XCTFail("timed out waiting for «\(text)»; the screen so far:\n\(output.suffix(800))", file: file, line: line)
    return false
  }

  var mark: String.Index { output.endIndex }

  /// Gives libedit time to switch the terminal to raw mode after printing
  /// its prompt (it prints first), before a control key is sent.
  func settle() { Thread.sleep(forTimeInterval: 0.3) }

  func waitForExit(timeout: Double = 10) -> Int32? {
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { pump(50) }
    if process.isRunning { process.terminate(); process.waitUntilExit(); return nil }
    process.waitUntilExit()
    return process.terminationStatus
  }

  deinit {
    if process.isRunning { process.terminate() }
    close(master)
  }
}

final class REPLTests: RiadTestCase {
  func testSessionThroughAPseudoTerminal() throws {
    let history = FileManager.default.temporaryDirectory.appendingPathComponent("riad-history-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: history) }
    let env = ["RIAD_HISTORY": history, "RIAD_DISPLAY": "none", "HOME": NSTemporaryDirectory()]
    let pty = try PTY(environment: env)
    pty.expect("riad> ")

    // A multi-line function typed line by line: the parser asks for more.
    var m = pty.mark
    pty.send("fn sq(x) {\r")
    pty.expect("...> ", after: m)
    pty.send("x * x\r")
    m = pty.mark
    pty.send("}\r")
    pty.expect("riad> ", after: m)
    m = pty.mark
    pty.send("sq(7) + 1\r")
    pty.expect("50", after: m)

    // Completion of a variable's field after '.'.
    pty.send("data = {training: 11, testing: 22}\r")
    m = pty.mark
    pty.send("data.tra\t")
    pty.expect("ining", after: m)
    m = pty.mark
    pty.send("\r")
    pty.expect("11", after: m)

    // Ctrl-C during a long loop: back to a working prompt, the variable kept.
    pty.send("i = 0\r")
    m = pty.mark
    pty.send("while true { i += 1; if i == 1000 { print(\"run\" + \"ning\") } }\r")
    pty.expect("running", after: m)  // the loop has started: ^C now interrupts it
    pty.send("\u{03}")
    pty.expect("interrupted", after: m)
    m = pty.mark
    pty.send("i >= 1000\r")
    pty.expect("true", after: m)
    pty.expect("riad> ", after: m)
    pty.settle()

    // Ctrl-C during train: it stops between steps, says so in one line that
    // stays, and still returns the history so far, marked interrupted.
    m = pty.mark
    pty.send("h = train(unet(base: 2, depth: 2), rand([4, 3, 8, 8], seed: 1), epochs: 100000, batch: 2)\r")
    pty.expect("step 2/2", after: m)  // the progress bar is up: training runs
    pty.send("\u{03}")
    pty.expect("train: interrupted after", after: m)
    pty.expect("the history so far is returned", after: m)
    pty.expect("riad> ", after: m)
    m = pty.mark
    pty.send("[h.interrupted, len(h.steps) > 0, len(h.steps) == 2 * h.epochs + len(h.steps) % 2]\r")
    pty.expect("[true, true, true]", after: m)
    pty.expect("riad> ", after: m)
    pty.settle()

    // Ctrl-C at the prompt clears the line. (Control keys are sent only once
    // the prompt is up and libedit has the terminal in raw mode: in cooked
    // mode the line discipline would act on them instead.)
    m = pty.mark
    pty.send("this is not finished")
    pty.expect("finished", after: m)
    pty.send("\u{03}")
    pty.expect("riad> ", after: pty.output.range(of: "finished", options: .backwards)!.upperBound)
    pty.settle()
    pty.send("6 * 7\r")
    pty.expect("42", after: m)
    XCTAssertFalse(pty.output[m...].contains("error"), "the cleared line must not run: \(pty.output[m...])")

    // Errors do not end the session.
    m = pty.mark
    pty.send("undefined_thing\r")
    pty.expect("unknown name 'undefined_thing'", after: m)
    pty.send("100 + 23\r")
    pty.expect("123", after: m)
    pty.expect("riad> ", after: pty.output.range(of: "123", options: .backwards)!.upperBound)
    pty.settle()

    // Ctrl-D on an empty line exits with status 0.
    pty.send("\u{04}")
    XCTAssertEqual(pty.waitForExit(), 0, "Ctrl-D did not end the session; the screen:\n\(pty.output.suffix(400))")

    // History survives a restart: Up recalls the last entry.
    let again = try PTY(environment: env)
    again.expect("riad> ")
    again.settle()
    m = again.mark
    again.send("\u{1b}[A")
    again.expect("100 + 23", after: m)
    m = again.mark
    again.send("\r")
    again.expect("123", after: m)
    again.send(":quit\r")
    XCTAssertEqual(again.waitForExit(), 0)
  }
}
