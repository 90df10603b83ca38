import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What riad knows about the terminal it draws on: its window in cells and
/// pixels, which graphics protocols it speaks, and whether tmux sits in
/// between. `probe` fills it from the environment first, then from one
/// time-boxed round of queries; `notes` records what was asked and answered
/// (for `riad doctor`).
public struct TerminalInfo {
  public init() {}

  public var stdoutIsTerminal = false
  public var stdinIsTerminal = false
  public var columns = 80, rows = 24
  /// Pixels per character cell, and where that figure came from.
  public var cellWidth = 8, cellHeight = 16
  public var cellSizeSource = "assumed (the terminal did not say)"
  /// The primary device attributes (DA1), when the terminal answered.
  public var da1: [Int]? = nil
  /// Whether the terminal answered the kitty graphics protocol's query.
  public var kittyAnswered = false
  /// The protocol the environment names (`TERM`, `TERM_PROGRAM`, …), and which variable did.
  public var environmentProtocol: (mode: DisplayMode, because: String)? = nil
  public var tmux: Tmux? = nil
  public var notes: [String] = []

  public struct Tmux {
    public var version: String?
    /// `allow-passthrough`: "on", "all", "off", or nil when tmux did not say.
    public var passthrough: String?
    /// tmux draws sixel itself (3.4 and later built with sixel: its DA1 lists 4).
    public var nativeSixel = false
    public var passthroughAllowed: Bool { passthrough == "on" || passthrough == "all" }

    public init(version: String? = nil, passthrough: String? = nil, nativeSixel: Bool = false) {
      self.version = version; self.passthrough = passthrough; self.nativeSixel = nativeSixel
    }
  }

  public var sixel: Bool { da1?.dropFirst().contains(4) ?? false }
  public var windowPixels: (width: Int, height: Int) { (columns * cellWidth, rows * cellHeight) }

  /// Reads the window size and, when `query` is set and both stdin and
  /// stdout are the terminal, asks the terminal about graphics; never takes
  /// longer than `timeout` and leaves no reply bytes behind.
  public static func probe(query: Bool, timeout: Double = 0.5,
                           environment: [String: String] = ProcessInfo.processInfo.environment) -> TerminalInfo {
    var info = TerminalInfo()
    info.stdoutIsTerminal = isatty(1) != 0
    info.stdinIsTerminal = isatty(0) != 0
    info.readWindowSize()
    info.environmentProtocol = protocolFromEnvironment(environment)
    if let e = info.environmentProtocol { info.notes.append("environment: \(e.because) → \(e.mode.rawValue)") }
    if environment["TMUX"] != nil { info.tmux = Tmux.ask() }
    if query && info.stdoutIsTerminal && info.stdinIsTerminal {
      // The kitty query first, the window size in pixels, DA1 last: the
      // terminal answers in order, so DA1's reply means all replies are in.
      let queries = "\u{1b}_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\u{1b}\\" + "\u{1b}[14t" + "\u{1b}[16t" + "\u{1b}[c"
      let reply = TerminalQuery.ask(queries, timeout: timeout)
      info.read(reply)
      if info.tmux != nil, info.sixel { info.tmux!.nativeSixel = true }
    }
    return info
  }

  /// TIOCGWINSZ: columns, rows and (when the terminal fills them in) pixels.
  mutating func readWindowSize() {
    var ws = winsize()
    for fd: Int32 in [1, 2, 0] where ioctl(fd, UInt(TIOCGWINSZ), &ws) == 0 && ws.ws_col > 0 {
      columns = Int(ws.ws_col); rows = Int(max(ws.ws_row, 1))
      if ws.ws_xpixel > 0, ws.ws_ypixel > 0, Int(ws.ws_xpixel) < 32768 {
        cellWidth = max(1, Int(ws.ws_xpixel) / columns); cellHeight = max(1, Int(ws.ws_ypixel) / rows)
        cellSizeSource = "the window size (TIOCGWINSZ \(ws.ws_xpixel)×\(ws.ws_ypixel) px)"
      }
      notes.append("window: \(columns)×\(rows) cells")
      return
    }
  }

  /// Takes in the replies to the queries.
  public mutating func read(_ reply: [UInt8]) {
    if let d = DA1.parse(reply) {
      da1 = d.params
      notes.append("DA1 reply: \(d.params.map(String.init).joined(separator: ";"))" + (d.sixel ? " (4: sixel)" : " (no 4: no sixel)"))
    } else {
      notes.append("no DA1 reply within the time limit")
    }
    let text = String(decoding: reply, as: UTF8.self)
    if text.contains("\u{1b}_Gi=31;OK") { kittyAnswered = true; notes.append("kitty graphics query answered OK") }
    for (code, name) in [(4, "window"), (6, "cell")] {
      guard let r = TerminalQuery.sizeReply(reply, code: code) else { continue }
      notes.append("\(name) size reply: \(r.width)×\(r.height) px")
      if code == 6, r.width > 0, r.height > 0, cellSizeSource.hasPrefix("assumed") {
        (cellWidth, cellHeight) = (r.width, r.height)
        cellSizeSource = "the terminal (CSI 16 t)"
      } else if code == 4, r.width > 0, r.height > 0, cellSizeSource.hasPrefix("assumed") {
        (cellWidth, cellHeight) = (max(1, r.width / columns), max(1, r.height / rows))
        cellSizeSource = "the terminal (CSI 14 t)"
      }
    }
  }

  /// The protocol a terminal is known by from its environment variables.
  public static func protocolFromEnvironment(_ env: [String: String]) -> (mode: DisplayMode, because: String)? {
    let term = env["TERM"] ?? "", program = env["TERM_PROGRAM"] ?? ""
    if term == "xterm-kitty" || env["KITTY_WINDOW_ID"] != nil { return (.kitty, term == "xterm-kitty" ? "TERM=xterm-kitty" : "KITTY_WINDOW_ID") }
    if term == "xterm-ghostty" || env["GHOSTTY_RESOURCES_DIR"] != nil { return (.kitty, "Ghostty (TERM=\(term))") }
    if program == "iTerm.app" || env["LC_TERMINAL"] == "iTerm2" { return (.iterm, program == "iTerm.app" ? "TERM_PROGRAM=iTerm.app" : "LC_TERMINAL=iTerm2") }
    if program == "WezTerm" { return (.iterm, "TERM_PROGRAM=WezTerm") }
    if env["KONSOLE_VERSION"] != nil { return (.kitty, "KONSOLE_VERSION") }
    return nil
  }
}

extension TerminalInfo.Tmux {
  /// Asks the tmux server for its version and its passthrough setting.
  static func ask() -> TerminalInfo.Tmux {
    var t = TerminalInfo.Tmux()
    t.version = run(["-V"])?.trimmingCharacters(in: .whitespacesAndNewlines)
    t.passthrough = run(["show", "-gv", "allow-passthrough"])?.trimmingCharacters(in: .whitespacesAndNewlines)
    if t.passthrough?.isEmpty ?? false { t.passthrough = nil }
    return t
  }

  private static func run(_ arguments: [String]) -> String? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["tmux"] + arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return p.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
  }
}

/// Primary device attributes replies: `ESC [ ? 63 ; 1 ; 2 ; 4 c`.
public enum DA1 {
  /// Finds a DA1 reply anywhere in `bytes` (other bytes may surround it)
  /// and reports its parameters and whether one after the first is 4.
  public static func parse(_ bytes: [UInt8]) -> (params: [Int], sixel: Bool)? {
    var i = 0
    while i + 2 < bytes.count {
      if bytes[i] == 0x1b && bytes[i + 1] == UInt8(ascii: "[") && bytes[i + 2] == UInt8(ascii: "?") {
        var j = i + 3
        var text = ""
        while j < bytes.count, (bytes[j] >= 0x30 && bytes[j] <= 0x39) || bytes[j] == UInt8(ascii: ";") {
          text.append(Character(UnicodeScalar(bytes[j]))); j += 1
        }
        if j < bytes.count && bytes[j] == UInt8(ascii: "c") {
          let params = text.split(separator: ";", omittingEmptySubsequences: false).map { Int($0) ?? 0 }
          return (params, params.dropFirst().contains(4))
        }
      }
      i += 1
    }
    return nil
  }
}

/// One round of queries to the terminal on stdin/stdout; never hangs.
public enum TerminalQuery {
  /// Writes `queries` (which must end with DA1, `ESC [ c`) and collects the
  /// replies until DA1's has arrived or `timeout` passes. Without a DA1
  /// reply, late answers are waited for briefly and flushed from the input,
  /// so none is left for the line editor to read as keys.
  public static func ask(_ queries: String, timeout: Double) -> [UInt8] {
    var saved = termios()
    guard tcgetattr(0, &saved) == 0 else { return [] }
    var raw = saved
    raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
    withUnsafeMutableBytes(of: &raw.c_cc) { cc in cc[Int(VMIN)] = 0; cc[Int(VTIME)] = 0 }
    tcsetattr(0, TCSANOW, &raw)
    defer { tcsetattr(0, TCSANOW, &saved) }
    _ = queries.withCString { Glibc.write(1, $0, strlen($0)) }
    let reply = collect(fd: 0, timeout: timeout)
    if DA1.parse(reply) == nil {
      usleep(100_000)
      tcflush(0, TCIFLUSH)
    }
    return reply
  }

  /// Reads from `fd` until a complete DA1 reply has arrived or the timeout
  /// passes (used with a pipe in tests).
  public static func collect(fd: Int32, timeout: Double) -> [UInt8] {
    var reply: [UInt8] = []
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let ms = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
      guard poll(&pfd, 1, ms) > 0 else { break }
      var buf = [UInt8](repeating: 0, count: 256)
      let n = read(fd, &buf, 256)
      if n <= 0 { break }
      reply += buf[0..<n]
      if DA1.parse(reply) != nil { break }
    }
    return reply
  }

  /// The reply `ESC [ code ; height ; width t` to CSI 14 t (code 4, the
  /// window in pixels) or CSI 16 t (code 6, one cell in pixels).
  public static func sizeReply(_ bytes: [UInt8], code: Int) -> (width: Int, height: Int)? {
    let text = String(decoding: bytes, as: UTF8.self)
    let prefix = "\u{1b}[\(code);"
    guard let start = text.range(of: prefix) else { return nil }
    let rest = text[start.upperBound...]
    guard let end = rest.firstIndex(of: "t") else { return nil }
    let parts = rest[..<end].split(separator: ";").compactMap { Int($0) }
    guard parts.count == 2 else { return nil }
    return (parts[1], parts[0])
  }
}
