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
      if evaluate(text) { transcript.append(text) }
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

  /// Runs one input; echoes values; reports errors. True when it succeeded.
  @discardableResult
  func evaluate(_ text: String) -> Bool {
    counter += 1
    let file = SourceFile(name: "<repl>", text: text)
    riad_sigint_clear()
    riad_set_busy(1)
    defer { riad_set_busy(0); riad_sigint_clear() }
    do {
      try session.interpreter.run(file) { value in print(Format.repr(value)) }
      return true
    } catch let e as ScriptError {
      FileHandle.standardError.write((e.forStandardError + "\n").data(using: .utf8)!)
    } catch {
      FileHandle.standardError.write("error: \(error)\n".data(using: .utf8)!)
    }
    return false
  }

  /// The `:` commands. Returns false to quit.
  func command(_ input: String) -> Bool {
    if input.hasPrefix("?") {
      showHelp(String(input.dropFirst()).trimmingCharacters(in: .whitespaces))
      return true
    }
    let parts = input.split(separator: " ", maxSplits: 1).map(String.init)
    let arg = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
    switch parts[0] {
    case ":quit", ":q", ":exit": return false
    case ":help", ":h":
      if arg.isEmpty {
        print("""
          :help [name]       describe a builtin (also ?name); help() lists them all
          :vars              the variables of this session
          :time STATEMENT    run a statement and print how long it took
          :load FILE.riad    run a script in this session
          :save FILE.riad    write this session's successful inputs as a script
          :display MODE      auto, sixel, blocks, files or none (now \(session.display.mode.rawValue))
          :reset             forget every variable
          :quit              leave (also Ctrl-D)
          """)
      } else { showHelp(arg) }
    case ":vars":
      let vars = session.interpreter.globals.names
      if vars.isEmpty { print("no variables") }
      for name in vars {
        let v = session.interpreter.globals.lookup(name)!
        let text = Format.repr(v).split(separator: "\n").first.map(String.init) ?? ""
        print("  \(name) = \(text.count > 100 ? String(text.prefix(100)) + "…" : text)")
      }
    case ":time":
      let start = Date()
      let ok = evaluate(arg)
      print(String(format: "time: %.3f s", Date().timeIntervalSince(start)))
      if ok { transcript.append(arg) }
    case ":load":
      guard let text = try? String(contentsOfFile: arg, encoding: .utf8) else {
        FileHandle.standardError.write("error: cannot read '\(arg)': no such file\n".data(using: .utf8)!)
        return true
      }
      riad_set_busy(1)
      defer { riad_set_busy(0); riad_sigint_clear() }
      do { try session.interpreter.run(SourceFile(name: arg, text: text)); transcript.append("run(\(Format.quote(arg)))") } catch let e as ScriptError {
        FileHandle.standardError.write((e.forStandardError + "\n").data(using: .utf8)!)
      } catch { FileHandle.standardError.write("error: \(error)\n".data(using: .utf8)!) }
    case ":save":
      guard !arg.isEmpty else { print("usage: :save FILE.riad"); return true }
      do {
        try Data((transcript.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: arg), options: .atomic)
        print("saved \(transcript.count) inputs to \(arg)")
      } catch { FileHandle.standardError.write("error: cannot write '\(arg)': \(error.localizedDescription)\n".data(using: .utf8)!) }
    case ":display":
      guard let m = DisplayMode(rawValue: arg) else {
        print("usage: :display \(DisplayMode.allCases.map(\.rawValue).joined(separator: "|")) (now \(session.display.mode.rawValue))")
        return true
      }
      session.display.change(to: m)
      print("display: \(session.display.mode.rawValue) (\(session.display.reason))")
    case ":reset":
      session.interpreter.globals.clear()
      transcript = []
      print("all variables forgotten")
    default:
      let known = [":help", ":vars", ":time", ":load", ":save", ":display", ":reset", ":quit"]
      print("unknown command '\(parts[0])'\(didYouMean(parts[0], known)) — :help lists the commands")
    }
    return true
  }

  func showHelp(_ name: String) {
    if name.isEmpty { _ = try? session.interpreter.call(.builtin(session.registry["help"]!), []); return }
    if let b = session.registry[name] { print(session.registry.help(b)) } else {
      print("no builtin named '\(name)'\(didYouMean(name, session.registry.names))")
    }
  }

  /// The Tab key: completes the word before the cursor, or lists the options.
  func complete(_ el: OpaquePointer?) -> UInt8 {
    guard let info = el_line(el) else { return UInt8(CC_ERROR) }
    let length = info.pointee.cursor - info.pointee.buffer
    let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(info.pointee.buffer).assumingMemoryBound(to: UInt8.self), count: length)
    let line = String(decoding: bytes, as: UTF8.self)
    let (word, options) = Completion.candidates(line, session)
    guard !options.isEmpty else { return UInt8(CC_REFRESH_BEEP) }
    let common = Completion.commonPrefix(options)
    if common.count > word.count || (options.count == 1 && session.registry[common] != nil && !line.contains(".")) {
      var insert = String(common.dropFirst(word.count))
      // A single builtin completes with its opening parenthesis.
      if options.count == 1, session.registry[common] != nil, !line.hasSuffix("\""), !line.contains(".") { insert += "(" }
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
