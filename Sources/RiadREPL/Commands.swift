import CShims
import Foundation
import RiadBuiltins
import RiadImage
import RiadLang

/// One `:` command. The table of them drives dispatch, `:help` and completion.
struct REPLCommand {
  let name: String
  let aliases: [String]
  /// What follows the name, as `:help` shows it ("FILE.riad", "[name]").
  let argument: String
  let help: String
  /// What Tab offers for the argument.
  let completes: Completion.Argument
  /// Runs the command with its argument; false ends the session.
  let run: (REPL, String) -> Bool
}

extension REPL {
  static let commands: [REPLCommand] = [
    REPLCommand(name: ":help", aliases: [":h"], argument: "[name or :command]",
                help: "describe a builtin, a variable or a command (also ?name); help() lists the builtins",
                completes: .helpTopics) { repl, arg in repl.help(arg); return true },
    REPLCommand(name: ":vars", aliases: [], argument: "", help: "the variables of this session",
                completes: .nothing) { repl, _ in repl.listVariables(); return true },
    REPLCommand(name: ":time", aliases: [], argument: "STATEMENT", help: "run a statement and print how long it took",
                completes: .code) { repl, arg in repl.time(arg); return true },
    REPLCommand(name: ":doctor", aliases: [], argument: "",
                help: "what the display chose and why, the window, tmux, the BLAS core and kernels, and fixes",
                completes: .nothing) { repl, _ in repl.say(repl.session.doctorReport()); return true },
    REPLCommand(name: ":load", aliases: [], argument: "FILE.riad", help: "run a script in this session",
                completes: .paths) { repl, arg in repl.load(arg); return true },
    REPLCommand(name: ":save", aliases: [], argument: "FILE.riad",
                help: "write this session's inputs that ran without error as a script", completes: .paths) { repl, arg in
      repl.save(arg); return true
    },
    REPLCommand(name: ":display", aliases: [], argument: "MODE",
                help: "where pictures go: " + DisplayMode.allCases.map(\.rawValue).joined(separator: ", "),
                completes: .displayModes) { repl, arg in repl.changeDisplay(arg); return true },
    REPLCommand(name: ":reset", aliases: [], argument: "", help: "forget every variable", completes: .nothing) { repl, _ in
      repl.session.interpreter.globals.clear()
      repl.transcript = []
      repl.say("all variables forgotten")
      return true
    },
    REPLCommand(name: ":quit", aliases: [":q", ":exit"], argument: "", help: "leave (also Ctrl-D on an empty line)",
                completes: .nothing) { _, _ in false },
  ]

  static func command(named name: String) -> REPLCommand? {
    commands.first { $0.name == name || $0.aliases.contains(name) }
  }

  /// Runs a `:` command or a `?name` lookup. Returns false to quit.
  public func command(_ input: String) -> Bool {
    if input.hasPrefix("?") {
      help(String(input.dropFirst()).trimmingCharacters(in: .whitespaces))
      return true
    }
    let parts = input.split(separator: " ", maxSplits: 1).map(String.init)
    let arg = parts.count > 1 ? REPL.withoutComment(parts[1]) : ""
    guard let c = REPL.command(named: parts[0]) else {
      let names = REPL.commands.flatMap { [$0.name] + $0.aliases }
      say("unknown command '\(parts[0])'\(didYouMean(parts[0], names)) — :help lists the commands")
      return true
    }
    return c.run(self, arg)
  }

  /// An argument without a trailing `# comment` (as in a script).
  static func withoutComment(_ s: String) -> String {
    var text = s
    if let r = text.range(of: " #") ?? (text.hasPrefix("#") ? text.range(of: "#") : nil) { text = String(text[..<r.lowerBound]) }
    return text.trimmingCharacters(in: .whitespaces)
  }

  /// `:help`, `:help name`, `:help :command`, `?name`.
  func help(_ name: String) {
    if name.isEmpty {
      var lines = REPL.commands.map { c -> String in
        let head = ([c.name] + c.aliases).joined(separator: ", ") + (c.argument.isEmpty ? "" : " " + c.argument)
        return "  " + head.padding(toLength: 30, withPad: " ", startingAt: 0) + c.help
      }
      lines.append("  ?name                         the same as :help name")
      say(lines.joined(separator: "\n"))
      return
    }
    if name.hasPrefix(":") {
      guard let c = REPL.command(named: name) else {
        say("no command '\(name)'\(didYouMean(name, REPL.commands.map(\.name))) — :help lists the commands")
        return
      }
      say("\(c.name)\(c.argument.isEmpty ? "" : " " + c.argument)\(c.aliases.isEmpty ? "" : "  (also \(c.aliases.joined(separator: ", ")))")\n  \(c.help)")
      return
    }
    if let v = session.interpreter.globals.lookup(name) {
      say(describe(name, v))
      return
    }
    if let b = session.registry[name] { say(session.registry.help(b)); return }
    say("no builtin or variable named '\(name)'\(didYouMean(name, session.registry.names + session.interpreter.globals.names))")
  }

  /// What `?x` says about a variable: its type, its value in one line, and
  /// the fields it has.
  func describe(_ name: String, _ v: Value) -> String {
    var s = "\(name): \(v.typeName)"
    switch v {
    case .function(let c):
      return s + ", fn \(c.decl.name)(\(c.decl.params.map(\.name).joined(separator: ", "))) defined at \(c.decl.range)"
    case .builtin(let b):
      return session.registry.help(b)
    default: break
    }
    let text = Format.repr(v).split(separator: "\n").map(String.init)
    s += "\n  " + text.prefix(12).joined(separator: "\n  ")
    let fields = Completion.fieldNames(of: v)
    if !fields.isEmpty { s += "\n  fields: " + fields.joined(separator: ", ") }
    return s
  }

  func listVariables() {
    let vars = session.interpreter.globals.names
    if vars.isEmpty { say("no variables") }
    for name in vars {
      let v = session.interpreter.globals.lookup(name)!
      let text = Format.repr(v).split(separator: "\n").first.map(String.init) ?? ""
      say("  \(name) = \(text.count > 100 ? String(text.prefix(100)) + "…" : text)")
    }
  }

  func time(_ statement: String) {
    let start = Date()
    evaluate(statement)
    say(String(format: "time: %.3f s", Date().timeIntervalSince(start)))
  }

  func load(_ path: String) {
    guard !path.isEmpty else { say("usage: :load FILE.riad"); return }
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      complain("error: cannot read '\(path)': no such file")
      return
    }
    riad_set_busy(1)
    defer { riad_set_busy(0); riad_sigint_clear() }
    do {
      try session.interpreter.run(SourceFile(name: path, text: text))
      transcript.append("run(\(Format.quote(path)))")
    } catch let e as ScriptError {
      complain(e.forStandardError)
    } catch { complain("error: \(error)") }
  }

  func save(_ path: String) {
    guard !path.isEmpty else { say("usage: :save FILE.riad"); return }
    do {
      try Data((transcript.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
      say("saved \(transcript.count) input\(transcript.count == 1 ? "" : "s") to \(path)")
    } catch { complain("error: cannot write '\(path)': \(error.localizedDescription)") }
  }

  func changeDisplay(_ arg: String) {
    guard let m = DisplayMode(rawValue: arg) else {
      say("usage: :display \(DisplayMode.allCases.map(\.rawValue).joined(separator: "|")) (now \(session.display.mode.rawValue))")
      return
    }
    session.display.change(to: m)
    say("display: \(session.display.mode.rawValue) (\(session.display.reason))")
  }
}
