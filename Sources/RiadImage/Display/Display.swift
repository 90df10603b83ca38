import Foundation
import RiadTensor
#if canImport(Glibc)
import Glibc
#endif

/// Where shown figures go (SPEC section 6). The one list of modes: the
/// command line, the REPL's `:display` and its completion read it.
public enum DisplayMode: String, CaseIterable {
  case auto, sixel, kitty, iterm, blocks, files, none

  /// One line on what the mode does, for help texts.
  public var summary: String {
    switch self {
    case .auto: return "choose from what the terminal says it can do"
    case .sixel: return "sixel graphics (xterm -ti vt340, foot, mlterm, WezTerm, tmux 3.4 with sixel)"
    case .kitty: return "the kitty graphics protocol (kitty, Ghostty, WezTerm, Konsole)"
    case .iterm: return "the iTerm2 inline-image protocol (iTerm2, WezTerm, VS Code)"
    case .blocks: return "24-bit colour half-blocks, captions as text (any colour terminal)"
    case .files: return "PNG files in --out, one line per image"
    case .none: return "show nothing"
    }
  }
}

/// The room a figure may take: pixels for the graphics protocols, cells
/// for text, and how the terminal's cells measure.
public struct DisplayBox {
  public var maxWidth: Int, maxHeight: Int
  public var columns: Int, rows: Int
  public var cellWidth: Int, cellHeight: Int
  /// Wrap escape sequences for tmux (which then does not know the image is
  /// there, so the cursor is moved below it by hand).
  public var tmuxPassthrough = false
}

/// What a backend writes for a figure, and how many terminal rows the
/// cursor moves down over it (0 when that is unknown, as in files mode).
public struct Rendering {
  public var bytes: [UInt8]
  public var rows: Int
}

/// One way of showing figures; each display mode is one type behind this.
public protocol DisplayBackend {
  /// What shows `figure` (the `index`-th shown) within `box`.
  func render(_ figure: Figure, in box: DisplayBox, index: Int) throws -> Rendering
  /// Whether a figure can be drawn again over the rows of the last one.
  var redraws: Bool { get }
}

/// Shows figures on the terminal or writes them as PNG files.
public final class Display {
  /// The mode in force (`resolve` settles `.auto`; a display made with it
  /// anyway shows as blocks).
  public var mode: DisplayMode
  /// Why the mode was chosen (for `riad doctor`).
  public var reason: String
  public var outDir: String
  public var terminal: TerminalInfo
  /// The figures shown so far (numbering for files mode).
  public private(set) var count = 0
  /// Where text and escape sequences go.
  public var writeBytes: ([UInt8]) -> Void = { b in FileHandle.standardOutput.write(Data(b)) }
  /// Called with every figure shown, whatever the mode (`riad render`).
  public var onShow: ((Figure) -> Void)? = nil

  public init(mode: DisplayMode, outDir: String = "riad-out", terminal: TerminalInfo? = nil, reason: String? = nil) {
    self.terminal = terminal ?? TerminalInfo.probe(query: false)
    self.mode = mode == .auto ? .blocks : mode
    self.reason = reason ?? (mode == .auto ? "auto without a terminal probe" : "asked for")
    self.outDir = outDir
  }

  /// A display for `requested` that has probed the terminal when it needs to.
  public static func make(_ requested: DisplayMode, outDir: String = "riad-out",
                          environment: [String: String] = ProcessInfo.processInfo.environment) -> Display {
    var requested = requested
    var forced: String? = nil
    if requested == .auto, let env = environment["RIAD_DISPLAY"], let m = DisplayMode(rawValue: env), m != .auto {
      requested = m
      forced = "RIAD_DISPLAY=\(env)"
    }
    let needsQuery = requested == .auto || requested == .sixel || requested == .kitty || requested == .iterm
    let terminal = TerminalInfo.probe(query: needsQuery, environment: environment)
    let (mode, reason) = resolve(requested, terminal)
    return Display(mode: mode, outDir: outDir, terminal: terminal, reason: forced ?? reason)
  }

  /// Switches to `requested` (`:display`), probing the terminal again.
  public func change(to requested: DisplayMode) {
    let fresh = Display.make(requested, outDir: outDir)
    (mode, reason, terminal) = (fresh.mode, fresh.reason, fresh.terminal)
  }

  /// The mode `auto` settles on, and why: `files` when stdout is not a
  /// terminal; a protocol the environment names; inside tmux, its own sixel
  /// or passthrough to a terminal the environment names; the kitty protocol
  /// or sixel when the terminal's replies say so; else blocks.
  public static func resolve(_ requested: DisplayMode, _ t: TerminalInfo) -> (DisplayMode, String) {
    guard requested == .auto else { return (requested, "asked for (--display, RIAD_DISPLAY or :display)") }
    guard t.stdoutIsTerminal else { return (.files, "standard output is not a terminal") }
    if let tmux = t.tmux {
      if tmux.nativeSixel { return (.sixel, "tmux draws sixel itself (its DA1 lists 4)") }
      if let e = t.environmentProtocol, tmux.passthroughAllowed {
        return (e.mode, "\(e.because), through tmux's passthrough (allow-passthrough \(tmux.passthrough!))")
      }
      return (.blocks, "inside tmux without sixel support or passthrough to a known graphics terminal")
    }
    if let e = t.environmentProtocol { return (e.mode, e.because) }
    if t.kittyAnswered { return (.kitty, "the terminal answered the kitty graphics query") }
    if t.sixel { return (.sixel, "the terminal's DA1 reply lists 4 (sixel)") }
    if !t.stdinIsTerminal { return (.blocks, "standard input is not a terminal, so the terminal could not be asked") }
    return (.blocks, t.da1 == nil ? "the terminal did not answer the DA1 query" : "the terminal's DA1 reply does not list 4 (sixel)")
  }

  /// The backend of the mode in force.
  public var backend: DisplayBackend {
    switch mode {
    case .sixel: return SixelDisplay()
    case .kitty: return KittyDisplay()
    case .iterm: return ITermDisplay()
    case .blocks, .auto: return BlocksDisplay(colour: true)
    case .files: return FilesDisplay(outDir: outDir)
    case .none: return NoDisplay()
    }
  }

  /// The room for a figure: the window's width less a cell, and three
  /// quarters of its height (so a prompt stays in view); `columns` and
  /// `rows` (cells) override either.
  public func box(columns: Int? = nil, rows: Int? = nil) -> DisplayBox {
    let t = terminal
    let cols = max(8, columns ?? (t.columns - 1))
    let rws = max(4, rows ?? Int(Double(t.rows) * 0.75))
    var box = DisplayBox(maxWidth: cols * t.cellWidth, maxHeight: rws * t.cellHeight, columns: cols, rows: rws,
                         cellWidth: t.cellWidth, cellHeight: t.cellHeight)
    if let tmux = t.tmux, mode != .blocks, mode != .files, mode != .none, !(mode == .sixel && tmux.nativeSixel) {
      box.tmuxPassthrough = true
    }
    return box
  }

  /// Shows a figure; `columns` and `rows` bound its size in terminal cells.
  public func show(_ figure: Figure, columns: Int? = nil, rows: Int? = nil) throws {
    count += 1
    onShow?(figure)
    frameRows = nil
    writeBytes(try backend.render(figure, in: box(columns: columns, rows: rows), index: count).bytes)
  }

  /// The rows the last frame of a live figure took, while one is on screen.
  private var frameRows: Int? = nil

  /// Shows one frame of a figure that changes (a training preview): on a
  /// terminal it is drawn over the previous frame; in files mode and in
  /// reports each frame is a picture of its own. `endFrames` lets the next
  /// figure start below.
  public func showFrame(_ figure: Figure, columns: Int? = nil, rows: Int? = nil) throws {
    count += 1
    onShow?(figure)
    let b = backend
    let room = box(columns: columns, rows: rows)
    var frame = figure
    if b is PixelDisplay {
      // A frame must stay one picture of known height to be drawn over: one
      // too big is scaled down whole rather than re-flowed into parts.
      let whole = try figure.drawn()
      if whole.width > room.maxWidth || whole.height > room.maxHeight { frame = Figure(whole) }
    }
    let r = try b.render(frame, in: room, index: count)
    if b.redraws, let previous = frameRows, previous > 0 {
      writeBytes(Array("\r\u{1b}[\(previous)A\u{1b}[J".utf8))
    }
    writeBytes(r.bytes)
    frameRows = b.redraws ? r.rows : nil
  }

  /// Ends a run of frames: the next figure is drawn below the last one.
  public func endFrames() { frameRows = nil }

  public func show(_ image: RGBImage) throws { try show(Figure(image)) }

  /// Scales a picture into a box: up by whole factors (crisp pixels) while
  /// it fits and its larger side stays within `target`, or down by area
  /// averaging when it does not fit.
  public static func fit(_ image: RGBImage, maxWidth: Int, maxHeight: Int, target: Int = 512) -> RGBImage {
    let (w, h) = (max(image.width, 1), max(image.height, 1))
    if w <= maxWidth && h <= maxHeight {
      let k = max(1, min(maxWidth / w, maxHeight / h, target / max(w, h)))
      return image.scaled(by: k)
    }
    let f = min(Double(maxWidth) / Double(w), Double(maxHeight) / Double(h))
    return image.resized(width: max(1, Int(Double(w) * f)), height: max(1, Int(Double(h) * f)))
  }
}

/// Graphics protocols: the figure drawn with its words, fitted to the box,
/// encoded; under tmux wrapped for passthrough with the cursor moved below.
protocol PixelDisplay: DisplayBackend {
  func encode(_ image: RGBImage, box: DisplayBox) throws -> [UInt8]
}

extension PixelDisplay {
  public var redraws: Bool { true }

  public func render(_ figure: Figure, in box: DisplayBox, index: Int) throws -> Rendering {
    var bytes: [UInt8] = [], rows = 0
    for part in try figure.drawnParts(maxWidth: box.maxWidth, maxHeight: box.maxHeight) {
      let image = Display.fit(part, maxWidth: box.maxWidth, maxHeight: box.maxHeight)
      var one = try encode(image, box: box)
      // The terminal moves the cursor down over the picture's rows.
      let height = (image.height + box.cellHeight - 1) / max(box.cellHeight, 1)
      if box.tmuxPassthrough {
        one = Tmux.passthrough(one)
        // tmux does not know an image is there: leave its rows behind.
        one += Array(String(repeating: "\n", count: height).utf8)
      } else {
        one += Array("\n".utf8)
      }
      bytes += one
      rows += height
    }
    return Rendering(bytes: bytes, rows: rows)
  }
}

struct SixelDisplay: PixelDisplay {
  func encode(_ image: RGBImage, box: DisplayBox) throws -> [UInt8] { try Sixel.encode(image) }
}

struct KittyDisplay: PixelDisplay {
  func encode(_ image: RGBImage, box: DisplayBox) throws -> [UInt8] { KittyGraphics.encode(png: try PNG.encode(image)) }
}

struct ITermDisplay: PixelDisplay {
  func encode(_ image: RGBImage, box: DisplayBox) throws -> [UInt8] {
    ITermImage.encode(png: try PNG.encode(image), width: image.width, height: image.height)
  }
}

/// `files`: each figure, drawn at its own size, as a PNG in the out folder.
struct FilesDisplay: DisplayBackend {
  let outDir: String
  var redraws: Bool { false }
  func render(_ figure: Figure, in box: DisplayBox, index: Int) throws -> Rendering {
    let image = try figure.drawn()
    try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
    let path = (outDir as NSString).appendingPathComponent(String(format: "image-%03d.png", index))
    try PNG.write(image.tensor, to: path)
    return Rendering(bytes: Array("[image \(index): \(path) \(image.width)×\(image.height)]\n".utf8), rows: 1)
  }
}

struct NoDisplay: DisplayBackend {
  var redraws: Bool { false }
  func render(_ figure: Figure, in box: DisplayBox, index: Int) throws -> Rendering { Rendering(bytes: [], rows: 0) }
}

/// tmux's DCS passthrough: `ESC P tmux ;` + the payload with every ESC
/// doubled + `ESC \`.
public enum Tmux {
  public static func passthrough(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = Array("\u{1b}Ptmux;".utf8)
    for b in bytes { if b == 0x1b { out.append(0x1b) }; out.append(b) }
    out += Array("\u{1b}\\".utf8)
    return out
  }
}

extension RGBImage {
  /// Resized by area averaging (shrinking) or bilinearly (enlarging).
  public func resized(width w: Int, height h: Int) -> RGBImage {
    guard w != width || h != height, let t = try? ImageOps.resize(tensor, height: h, width: w), let out = try? RGBImage(t) else { return self }
    return out
  }
}
