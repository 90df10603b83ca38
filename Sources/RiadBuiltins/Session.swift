import Foundation
import RiadImage
import RiadLang
import RiadTensor

/// Everything one riad run shares: the builtin registry, the interpreter,
/// the display and the streams. The REPL, scripts, `-e`, `render` and the
/// docs all start from a session.
public final class Session {
  public let registry = BuiltinRegistry()
  public let interpreter: Interpreter
  public let display: Display
  /// Writes progress and warnings (stderr).
  public var errorOutput: (String) -> Void = { s in FileHandle.standardError.write(s.data(using: .utf8)!) }
  /// Whether stderr is a terminal (progress bars redraw in place).
  public var progressIsTerminal = isatty(2) != 0

  public init(display: Display = Display(mode: .none), arguments: [String] = []) {
    interpreter = Interpreter(registry: registry)
    self.display = display
    registry.register(generalBuiltins())
    registry.register(tensorBuiltins())
    registry.register(autogradBuiltins())
    registry.register(imageBuiltins())
    registry.register(dataBuiltins())
    registry.register(maskBuiltins())
    registry.register(modelBuiltins())
    registry.register(riadBuiltins())
    registry.register(metricBuiltins())
    interpreter.globals.define("ARGS", .list(arguments.map { .string($0) }))
  }

  /// The figures behind pictures that builtins returned as tensors.
  let figures = FigureMemory()

  /// Prints through the interpreter's output (stdout, or a report cell).
  func say(_ text: String) { interpreter.output(text) }
}

extension Environment {
  /// Binds a global before any script runs.
  public func define(_ name: String, _ value: Value) { assignGlobal(name, value) }
}

/// Remembers the figure a picture tensor was drawn from, for as long as
/// the tensor lives and is not written into.
final class FigureMemory {
  private final class Entry {
    weak var tensor: Tensor?
    let version: Int
    let figure: Figure
    init(_ t: Tensor, _ f: Figure) { tensor = t; version = t.version; figure = f }
  }
  private var entries: [ObjectIdentifier: Entry] = [:]

  func remember(_ f: Figure, for t: Tensor) {
    entries = entries.filter { $0.value.tensor != nil }
    entries[ObjectIdentifier(t)] = Entry(t, f)
  }

  func figure(of t: Tensor) -> Figure? {
    guard let e = entries[ObjectIdentifier(t)], e.tensor === t, e.version == t.version else { return nil }
    return e.figure
  }
}
