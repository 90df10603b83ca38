import CEditLine
import CShims
import Foundation
import RiadBuiltins
import RiadImage
import RiadLang
import RiadTensor

/// The interactive loop on libedit: prompts, multi-line input decided by the
/// parser, persistent history (a block is one entry), completion, `:`
/// commands, value echo and `ans`, and Ctrl-C that never loses state.
public final class REPL {
  let session: Session
  var editLine: OpaquePointer?
  var history: OpaquePointer?
  let historyPath: String
  /// Inputs that ran without error, for `:save`.
  var transcript: [String] = []
  var counter = 0
  /// Where the REPL's own messages go (stdout; tests capture them).
  public var say: (String) -> Void = { print($0) }
  public var complain: (String) -> Void = { FileHandle.standardError.write(($0 + "\n").data(using: .utf8)!) }

  nonisolated(unsafe) static var current: REPL?
  nonisolated(unsafe) static var promptText: UnsafeMutablePointer<CChar> = strdup("riad> ")

  public init(session: Session) {
    self.session = session
    let env = ProcessInfo.processInfo.environment
    historyPath = env["RIAD_HISTORY"] ?? ((env["HOME"] ?? ".") + "/.riad_history")
  }

  func setPrompt(_ s: String) {
    free(REPL.promptText)
    REPL.promptText = strdup(s)
  }

  public func run() -> Int32 {
    REPL.current = self
    editLine = riad_el_init("riad")
    history = riad_history_init(2000)
    _ = riad_history_load(history, historyPath)
    riad_el_set_history(editLine, history)
    riad_el_set_editor(editLine, "emacs")
    riad_el_set_prompt(editLine) { _ in REPL.promptText }
    riad_el_add_function(editLine, "riad-complete", "complete a name, field or path") { el, _ in
      REPL.current?.complete(el) ?? UInt8(CC_REFRESH)
    }
    riad_el_bind(editLine, "^I", "riad-complete")
    riad_el_source_default(editLine)
    print("riad \(riadVersion) — type help() for builtins, ?name for one, :help for commands, Ctrl-D to quit")
    defer {
      riad_history_save(history, historyPath)
      el_end(editLine)
      history_end(history)
    }
    var buffer: [String] = []
    while true {
      setPrompt(buffer.isEmpty ? "riad> " : "  ...> ")
      riad_sigint_clear()
      var count: Int32 = 0
      guard let raw = el_gets(editLine, &count) else {
        if count == -1 && errno == EINTR || riad_sigint_count() > 0 {
          // Ctrl-C at the prompt: drop the line (and any open block). libedit
          // keeps what it had read of the line for the next call: delete it.
          clearLine()
          print("")
          buffer = []
          continue
        }
        print("")
        return 0   // Ctrl-D / end of input
      }
      var line = String(cString: raw)
      if line.hasSuffix("\n") { line.removeLast() }
      if buffer.isEmpty {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { continue }
        if trimmed.hasPrefix(":") || trimmed.hasPrefix("?") {
          riad_history_enter(history, trimmed)
          riad_history_save(history, historyPath)
          if !command(trimmed) { return 0 }
          continue
        }
      }
      buffer.append(line)
      let text = buffer.joined(separator: "\n")
      if needsMore(text) { continue }
      buffer = []
      riad_history_enter(history, text)
      riad_history_save(history, historyPath)
      evaluate(text)
    }
  }

  /// Empties libedit's line buffer.
  func clearLine() {
    guard let info = el_line(editLine) else { return }
    _ = el_cursor(editLine, Int32(info.pointee.lastchar - info.pointee.cursor))
    guard let after = el_line(editLine) else { return }
    let length = after.pointee.lastchar - after.pointee.buffer
    if length > 0 { el_deletestr(editLine, Int32(length)) }
  }

  /// Whether the parser wants more lines (an open bracket, block or operator).
  func needsMore(_ text: String) -> Bool {
    do { _ = try Parser.parse(SourceFile(name: "<repl>", text: text)); return false } catch let e as ScriptError {
      return e.incomplete
    } catch { return false }
  }

  /// Runs one input; echoes values; reports errors. An input that ran
  /// without error joins the transcript `:save` writes. True when it ran.
  @discardableResult
  public func evaluate(_ text: String) -> Bool {
    counter += 1
    let file = SourceFile(name: "<repl>", text: text)
    riad_sigint_clear()
    riad_set_busy(1)
    defer { riad_set_busy(0); riad_sigint_clear() }
    do {
      try session.interpreter.run(file) { [unowned self] value in self.say(Format.repr(value)) }
      transcript.append(text)
      return true
    } catch let e as ScriptError {
      complain(e.forStandardError)
    } catch {
      complain("error: \(error)")
    }
    return false
  }

  /// The Tab key: completes the word before the cursor, or lists the options.
  func complete(_ el: OpaquePointer?) -> UInt8 {
    guard let info = el_line(el) else { return UInt8(CC_ERROR) }
    let length = info.pointee.cursor - info.pointee.buffer
    let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(info.pointee.buffer).assumingMemoryBound(to: UInt8.self), count: length)
    let line = String(decoding: bytes, as: UTF8.self)
    let (insert, options) = Completion.tab(line, session)
    guard !options.isEmpty else { return UInt8(CC_REFRESH_BEEP) }
    if !insert.isEmpty {
      el_insertstr(el, insert)
      return UInt8(CC_REFRESH)
    }
    if options.count > 1 {
      print("")
      print(options.prefix(60).joined(separator: "  ") + (options.count > 60 ? "  …" : ""))
      return UInt8(CC_REDISPLAY)
    }
    return UInt8(CC_REFRESH)
  }
}

/// The version `riad --version` prints.
public let riadVersion = "0.1.0"
