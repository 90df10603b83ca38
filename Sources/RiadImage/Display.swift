import Foundation
import RiadTensor
#if canImport(Glibc)
import Glibc
#endif

/// Where shown images go (SPEC section 6).
public enum DisplayMode: String, CaseIterable {
  case auto, sixel, blocks, files, none
}

/// Shows RGB images on the terminal or writes them as PNG files.
public final class Display {
  public var mode: DisplayMode
  public var outDir: String
  /// Wrap sixel for tmux's passthrough.
  public var inTmux = ProcessInfo.processInfo.environment["TMUX"] != nil
  /// The images shown so far (numbering for files mode).
  public private(set) var count = 0
  /// Where text and escape sequences go.
  public var write: (String) -> Void = { s in FileHandle.standardOutput.write(s.data(using: .utf8)!) }
  public var writeBytes: ([UInt8]) -> Void = { b in FileHandle.standardOutput.write(Data(b)) }
  /// Called with every image shown, whatever the mode (used by `riad render`).
  public var onShow: ((RGBImage) -> Void)? = nil

  public init(mode: DisplayMode, outDir: String = "riad-out") {
    self.mode = mode
    self.outDir = outDir
  }

  /// The mode `auto` settles on: `files` when stdout is not a terminal;
  /// otherwise sixel if the terminal's DA1 reply lists attribute 4, else blocks.
  public static func resolve(_ requested: DisplayMode) -> DisplayMode {
    guard requested == .auto else { return requested }
    if let env = ProcessInfo.processInfo.environment["RIAD_DISPLAY"], let m = DisplayMode(rawValue: env), m != .auto {
      return m
    }
    guard isatty(1) != 0 else { return .files }
    guard isatty(0) != 0 else { return .blocks }
    let reply = TerminalQuery.ask("\u{1b}[c", timeout: 0.4)
    return DA1.parse(reply)?.sixel == true ? .sixel : .blocks
  }

  /// Integer nearest-neighbour upscaling so that small tensors are readable.
  static func upscale(_ image: RGBImage, target: Int = 256) -> RGBImage {
    let side = max(image.width, image.height)
    return image.scaled(by: max(1, min(8, target / max(side, 1))))
  }

  public func show(_ image: RGBImage) throws {
    count += 1
    onShow?(image)
    switch mode {
    case .none: return
    case .files, .auto:
      try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
      let path = (outDir as NSString).appendingPathComponent(String(format: "image-%03d.png", count))
      try PNG.write(image.tensor, to: path)
      write("[image \(count): \(path) \(image.width)×\(image.height)]\n")
    case .sixel:
      var bytes = try Sixel.encode(Display.upscale(image))
      if inTmux { bytes = Sixel.tmuxPassthrough(bytes) }
      writeBytes(bytes)
      write("\n")
    case .blocks:
      write(Blocks.render(image, maxColumns: Display.terminalColumns()))
    }
  }

  static func terminalColumns() -> Int {
    var ws = winsize()
    if ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 { return Int(ws.ws_col) }
    return 80
  }
}

/// 24-bit colour upper-half blocks: each character cell shows two pixels,
/// the top one as foreground of '▀', the bottom one as background.
public enum Blocks {
  public static func render(_ image: RGBImage, maxColumns: Int = 80, upscale: Bool = true) -> String {
    var img = image
    let limit = max(8, maxColumns - 1)
    if img.width > limit {
      // shrink by whole factors so masks stay crisp
      let f = (img.width + limit - 1) / limit
      var small = RGBImage(width: img.width / f, height: img.height / f)
      for y in 0..<small.height { for x in 0..<small.width { small.set(x, y, img.pixel(x * f, y * f)) } }
      img = small
    } else if upscale && img.width * 2 <= min(limit, 128) {
      img = img.scaled(by: max(1, min(4, min(limit, 128) / img.width)))
    }
    var out = ""
    for y in stride(from: 0, to: img.height, by: 2) {
      for x in 0..<img.width {
        let t = img.pixel(x, y)
        let b = y + 1 < img.height ? img.pixel(x, y + 1) : (0, 0, 0)
        out += "\u{1b}[38;2;\(t.0);\(t.1);\(t.2)m\u{1b}[48;2;\(b.0);\(b.1);\(b.2)m▀"
      }
      out += "\u{1b}[0m\n"
    }
    return out
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

/// Asks the terminal on stdin/stdout for its device attributes and collects
/// the reply until it is complete or the timeout passes; never hangs.
public enum TerminalQuery {
  public static func ask(_ query: String, timeout: Double) -> [UInt8] {
    var saved = termios()
    guard tcgetattr(0, &saved) == 0 else { return [] }
    var raw = saved
    raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
    withUnsafeMutableBytes(of: &raw.c_cc) { cc in cc[Int(VMIN)] = 0; cc[Int(VTIME)] = 0 }
    tcsetattr(0, TCSANOW, &raw)
    defer { tcsetattr(0, TCSANOW, &saved) }
    _ = query.withCString { Glibc.write(1, $0, strlen($0)) }
    return collect(fd: 0, timeout: timeout)
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
}
