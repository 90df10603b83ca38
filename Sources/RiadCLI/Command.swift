import ArgumentParser
import CShims
import Foundation
import RiadBuiltins
import RiadImage
import RiadLang
import RiadREPL
import RiadTensor

/// Options every subcommand shares (SPEC section 1).
struct GlobalOptions: ParsableArguments {
  @Option(help: ArgumentHelp("Where shown images go: \(DisplayMode.allCases.map(\.rawValue).joined(separator: ", ")).",
                             discussion: DisplayMode.allCases.map { "\($0.rawValue): \($0.summary)" }.joined(separator: "\n")))
  var display: String = "auto"
  @Option(help: "The folder files mode writes images into.")
  var out: String = "riad-out"
  @Option(help: "Seed of the global random generator.")
  var seed: Int = 0
  @Option(help: "Worker threads for riad's parallel loops and convolutions (default: one per core).")
  var threads: Int?

  func validate() throws {
    guard DisplayMode(rawValue: display) != nil else {
      throw ValidationError("--display must be one of \(DisplayMode.allCases.map(\.rawValue).joined(separator: ", ")), got '\(display)'")
    }
    guard seed >= 0 else { throw ValidationError("--seed must be ≥ 0, got \(seed)") }
    if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
  }

  /// Applies seed and threads, and builds the session with its display.
  func makeSession(arguments: [String] = [], forcedMode: DisplayMode? = nil) -> Session {
    globalGenerator = RandomGenerator(seed: UInt64(seed))
    if let threads { setThreads(threads) }
    let shown = forcedMode.map { Display(mode: $0, outDir: out) } ?? Display.make(DisplayMode(rawValue: display)!, outDir: out)
    let session = Session(display: shown, arguments: arguments)
    session.interpreter.interruptCheck = { riad_sigint_count() > 0 }
    return session
  }
}

/// `riad`: the REPL, a script, `-e`, or a script on stdin.
struct Riad: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "riad",
    abstract: "A terminal lab for inpainting-based visual anomaly detection (RIAD).",
    discussion: """
      riad                     start the REPL (or run a script piped on stdin)
      riad FILE.riad ARGS…     run a script; ARGS is a list of strings inside it
      riad -e CODE             evaluate CODE and print the values of its expressions
      Exit status: 0 success, 1 error in the script, 2 bad command line, 130 Ctrl-C.
      """,
    version: riadVersion,
    subcommands: [RunScript.self, Render.self, Doctor.self, Docs.self, Bench.self],
    defaultSubcommand: RunScript.self
  )
}

struct RunScript: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a script, -e CODE, stdin, or the REPL.")

  @OptionGroup var options: GlobalOptions
  @Option(name: .customShort("e"), help: "Evaluate CODE (its expression values are printed).")
  var code: String?
  @ArgumentParser.Argument(help: "A .riad script.")
  var file: String?
  @ArgumentParser.Argument(parsing: .captureForPassthrough, help: "Arguments for the script (ARGS inside it).")
  var arguments: [String] = []

  func run() throws {
    if let code {
      let session = options.makeSession(arguments: ([file].compactMap { $0 }) + arguments)
      throw ExitCode(execute(session, SourceFile(name: "-e", text: code), echo: true))
    }
    if let file {
      guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
        throw ValidationError("cannot read script '\(file)': no such file")
      }
      let session = options.makeSession(arguments: arguments)
      throw ExitCode(execute(session, SourceFile(name: file, text: text), echo: false))
    }
    if isatty(0) != 0 {
      let session = options.makeSession()
      throw ExitCode(REPL(session: session).run())
    }
    let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    let session = options.makeSession()
    throw ExitCode(execute(session, SourceFile(name: "<stdin>", text: text), echo: false))
  }
}

/// Runs a program and maps the outcome to an exit status.
func execute(_ session: Session, _ file: SourceFile, echo: Bool) -> Int32 {
  riad_set_busy(1)
  defer { riad_set_busy(0) }
  do {
    try session.interpreter.run(file, echo: echo ? { print(Format.repr($0)) } : nil)
    // A builtin that stops early on Ctrl-C (train returns its history so
    // far) leaves the interrupt pending: the program still ends as stopped.
    if riad_sigint_count() > 0 {
      FileHandle.standardError.write("interrupted\n".data(using: .utf8)!)
      return 130
    }
    return 0
  } catch let e as ScriptError {
    FileHandle.standardError.write((e.forStandardError + "\n").data(using: .utf8)!)
    return e.kind == .interrupted ? 130 : 1
  } catch {
    FileHandle.standardError.write("error: \(error)\n".data(using: .utf8)!)
    return 1
  }
}

struct Doctor: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "What the display chose and why, what the terminal said, the BLAS core and kernels in use, and how to fix what is missing.")
  @OptionGroup var options: GlobalOptions
  func run() throws {
    riad_sigint_restore_default()
    print(options.makeSession().doctorReport())
  }
}

struct Docs: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Print the builtin reference as Markdown.")
  @OptionGroup var options: GlobalOptions
  func run() throws {
    riad_sigint_restore_default()
    print(Session().registry.markdown(), terminator: "")
  }
}

/// The entry point: parses the command line and returns the exit status
/// (0 ok, 1 script error, 2 bad command line, 130 interrupted).
public enum RiadCLI {
  public static func main(_ arguments: [String]) -> Int32 {
    // Before anything else: a weak OpenBLAS core is replaced by relaunching.
    BLASCore.relaunchIfWeaker(arguments: CommandLine.arguments)
    setvbuf(stdout, nil, _IOLBF, 0)
    riad_configure_allocator()
    riad_sigint_install()  // first, so that an early Ctrl-C is counted, not fatal
    do {
      var command = try Riad.parseAsRoot(arguments)
      try command.run()
      return 0
    } catch let code as ExitCode {
      return code.rawValue
    } catch {
      let status = Riad.exitCode(for: error)
      if status == .success {
        print(Riad.fullMessage(for: error))
        return 0
      }
      FileHandle.standardError.write(("riad: " + Riad.fullMessage(for: error) + "\n").data(using: .utf8)!)
      return 2
    }
  }
}
