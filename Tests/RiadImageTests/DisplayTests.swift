import CSixel
import Foundation
import RiadImage
import RiadTensor
import RiadTestSupport
import XCTest

final class DisplayTests: RiadTestCase {
  /// A small picture with 12 distinct colours.
  func testImage() -> RGBImage {
    var img = RGBImage(width: 20, height: 14)
    for y in 0..<14 { for x in 0..<20 {
      let i = (x / 5) + 4 * (y / 5)
      img.set(x, y, (UInt8(i * 20), UInt8(255 - i * 17), UInt8((i * 97) % 256)))
    } }
    return img
  }

  func testSixelDecodesBackToTheSamePixels() throws {
    let img = testImage()
    var bytes = try Sixel.encode(img)
    XCTAssertEqual(Array(bytes.prefix(2)), [0x1b, UInt8(ascii: "P")])
    XCTAssertEqual(Array(bytes.suffix(2)), [0x1b, UInt8(ascii: "\\")])
    var pixels: UnsafeMutablePointer<UInt8>? = nil, palette: UnsafeMutablePointer<UInt8>? = nil
    var w: Int32 = 0, h: Int32 = 0, n: Int32 = 0
    let status = bytes.withUnsafeMutableBufferPointer { sixel_decode_raw($0.baseAddress, Int32($0.count), &pixels, &w, &h, &palette, &n, nil) }
    XCTAssertEqual(status, SIXEL_OK)
    XCTAssertEqual(Int(w), img.width)
    XCTAssertEqual(Int(h), img.height)
    defer { free(pixels); free(palette) }
    // Sixel colours are percentages: each channel may move by up to 255/200.
    for y in 0..<img.height { for x in 0..<img.width {
      let index = Int(pixels![y * Int(w) + x])
      let want = img.pixel(x, y)
      let got = (palette![3 * index], palette![3 * index + 1], palette![3 * index + 2])
      XCTAssertLessThanOrEqual(abs(Int(got.0) - Int(want.0)), 2, "red at \(x),\(y)")
      XCTAssertLessThanOrEqual(abs(Int(got.1) - Int(want.1)), 2, "green at \(x),\(y)")
      XCTAssertLessThanOrEqual(abs(Int(got.2) - Int(want.2)), 2, "blue at \(x),\(y)")
    } }
  }

  func testTmuxPassthroughDoublesEveryEscape() {
    let wrapped = Sixel.tmuxPassthrough(Array("\u{1b}Pq#0\u{1b}\\".utf8))
    XCTAssertEqual(String(decoding: wrapped, as: UTF8.self), "\u{1b}Ptmux;\u{1b}\u{1b}Pq#0\u{1b}\u{1b}\\\u{1b}\\")
  }

  func testBlocksSnapshot() {
    // 2×3 pixels: each text row shows two pixel rows (top = foreground of
    // '▀', bottom = background); the odd last row gets a black bottom; a
    // colour pair is set once for a run of equal cells.
    var img = RGBImage(width: 2, height: 3, fill: (0, 0, 0))
    img.set(0, 0, (255, 0, 0)); img.set(1, 1, (0, 255, 0)); img.set(0, 2, (0, 0, 255))
    XCTAssertEqual(Blocks.lines(img), [
      "\u{1b}[38;2;255;0;0m\u{1b}[48;2;0;0;0m▀\u{1b}[38;2;0;0;0m\u{1b}[48;2;0;255;0m▀\u{1b}[0m",
      "\u{1b}[38;2;0;0;255m\u{1b}[48;2;0;0;0m▀\u{1b}[38;2;0;0;0m\u{1b}[48;2;0;0;0m▀\u{1b}[0m",
    ])
  }

  /// The kitty protocol's chunks, reassembled and decoded, give the picture back.
  func testKittySequenceDecodesBackToTheImage() throws {
    var img = RGBImage(width: 300, height: 200)   // large enough for several chunks
    for y in 0..<200 { for x in 0..<300 { img.set(x, y, (UInt8(x % 256), UInt8(y), UInt8((x * y) % 251))) } }
    let bytes = KittyGraphics.encode(png: try PNG.encode(img))
    let text = String(decoding: bytes, as: UTF8.self)
    let chunks = text.components(separatedBy: "\u{1b}\\").filter { !$0.isEmpty }
    XCTAssertGreaterThan(chunks.count, 2)
    var payload = ""
    for (i, chunk) in chunks.enumerated() {
      XCTAssertTrue(chunk.hasPrefix("\u{1b}_G"), "chunk \(i) is an APC graphics command")
      let body = chunk.dropFirst(3)
      let (keys, data) = (body.prefix { $0 != ";" }, body.drop { $0 != ";" }.dropFirst())
      if i == 0 { XCTAssertTrue(keys.contains("a=T") && keys.contains("f=100") && keys.contains("q=2"), String(keys)) }
      XCTAssertTrue(keys.hasSuffix(i == chunks.count - 1 ? "m=0" : "m=1"), String(keys))
      XCTAssertLessThanOrEqual(data.count, KittyGraphics.chunk)
      payload += data
    }
    let png = try XCTUnwrap(Data(base64Encoded: payload))
    XCTAssertEqual(try PNG.decode(Array(png)), img)
  }

  /// The iTerm2 protocol's inline file decodes back to the picture, with its size declared.
  func testITermSequenceDecodesBackToTheImage() throws {
    let img = testImage()
    let png = try PNG.encode(img)
    let text = String(decoding: ITermImage.encode(png: png, width: img.width, height: img.height), as: UTF8.self)
    XCTAssertTrue(text.hasPrefix("\u{1b}]1337;File=inline=1;size=\(png.count);width=20px;height=14px;"))
    XCTAssertTrue(text.hasSuffix("\u{07}"))
    let base64 = text.dropFirst(text.distance(from: text.startIndex, to: text.firstIndex(of: ":")!) + 1).dropLast()
    XCTAssertEqual(try PNG.decode(Array(try XCTUnwrap(Data(base64Encoded: String(base64))))), img)
  }

  /// Small pictures grow by whole factors (crisp), within the box and a
  /// target side; large ones shrink to fit, keeping their aspect.
  func testFittingToTheWindow() {
    let small = RGBImage(width: 32, height: 32)
    XCTAssertEqual(Display.fit(small, maxWidth: 1000, maxHeight: 700).width, 512, "16× would pass 512")
    XCTAssertEqual(Display.fit(small, maxWidth: 100, maxHeight: 700).width, 96, "3× fits 100 px")
    let wide = RGBImage(width: 542, height: 900)
    let fitted = Display.fit(wide, maxWidth: 632, maxHeight: 234)
    XCTAssertLessThanOrEqual(fitted.height, 234)
    XCTAssertEqual(Double(fitted.width) / Double(fitted.height), 542.0 / 900.0, accuracy: 0.02)
    // A window's box: its width less a cell, three quarters of its height.
    var t = TerminalInfo()
    (t.columns, t.rows, t.cellWidth, t.cellHeight) = (80, 24, 6, 13)
    let box = Display(mode: .sixel, terminal: t).box()
    XCTAssertEqual(box.maxWidth, 79 * 6)
    XCTAssertEqual(box.maxHeight, 18 * 13)
    XCTAssertEqual(Display(mode: .sixel, terminal: t).box(columns: 20).maxWidth, 120, "show(x, width: 20)")
  }

  /// Under tmux without its own sixel, pictures pass through and the cursor
  /// is moved below them, so text that follows never overlaps.
  func testTmuxPassthroughLeavesRoomForThePicture() throws {
    var t = TerminalInfo()
    (t.columns, t.rows, t.cellWidth, t.cellHeight) = (100, 40, 10, 20)
    t.tmux = .init(version: "tmux 3.3a", passthrough: "on", nativeSixel: false)
    let display = Display(mode: .sixel, terminal: t)
    var out: [UInt8] = []
    display.writeBytes = { out += $0 }
    try display.show(RGBImage(width: 30, height: 30))   // ×17 (the 512-px target): 510 px, 26 rows of 20 px
    let text = String(decoding: out, as: UTF8.self)
    XCTAssertTrue(text.hasPrefix("\u{1b}Ptmux;\u{1b}\u{1b}P"))
    XCTAssertTrue(text.hasSuffix("\u{1b}\\" + String(repeating: "\n", count: 26)), "26 rows of 20 px for 510 px")
    t.tmux?.nativeSixel = true
    XCTAssertFalse(Display(mode: .sixel, terminal: t).box().tmuxPassthrough)
  }

  /// A live figure (a training preview) is drawn over its last frame on a
  /// terminal: back to the first column, up the rows the frame took, erase
  /// below. In files mode each frame is a file of its own; a figure shown
  /// after `endFrames` starts below.
  func testFramesRedrawInPlaceOnTerminalsAndAccumulateAsFiles() throws {
    var t = TerminalInfo()
    (t.columns, t.rows, t.cellWidth, t.cellHeight) = (100, 40, 10, 20)
    let display = Display(mode: .sixel, terminal: t)
    var writes: [String] = []
    display.writeBytes = { writes.append(String(decoding: $0, as: UTF8.self)) }
    let frame = Figure(RGBImage(width: 40, height: 40))   // scaled ×12 to 480 px: 24 rows
    try display.showFrame(frame)
    XCTAssertEqual(writes.count, 1, "the first frame is drawn where the cursor is")
    try display.showFrame(frame)
    XCTAssertEqual(writes[1], "\r\u{1b}[24A\u{1b}[J")
    XCTAssertTrue(writes[2].hasPrefix("\u{1b}P"), "then the new frame")
    display.endFrames()
    try display.showFrame(frame)
    XCTAssertTrue(writes[3].hasPrefix("\u{1b}P"), "after endFrames a frame starts below the last")

    let blocks = Display(mode: .blocks, terminal: t)
    var text: [String] = []
    blocks.writeBytes = { text.append(String(decoding: $0, as: UTF8.self)) }
    try blocks.showFrame(Figure(RGBImage(width: 8, height: 8)))
    let rows = text[0].filter { $0 == "\n" }.count
    try blocks.showFrame(Figure(RGBImage(width: 8, height: 8)))
    XCTAssertEqual(text[1], "\r\u{1b}[\(rows)A\u{1b}[J")

    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("riad-frames-\(getpid())")
    defer { try? FileManager.default.removeItem(at: dir) }
    let files = Display(mode: .files, outDir: dir.path, terminal: t)
    var lines = ""
    files.writeBytes = { lines += String(decoding: $0, as: UTF8.self) }
    for _ in 0..<3 { try files.showFrame(frame) }
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["image-001.png", "image-002.png", "image-003.png"])
    XCTAssertFalse(lines.contains("\u{1b}["), "files mode never moves the cursor")
  }

  /// In blocks mode the words are text: captions over their panels, a
  /// plot's ticks, labels and legend below it; no picture exceeds the box.
  func testBlocksPrintWordsAsText() throws {
    let red = Figure.Panel(caption: "input × mask 1", image: RGBImage(width: 16, height: 16, fill: (255, 0, 0)))
    let map = Figure.Panel(caption: "anomaly map", image: RGBImage(width: 16, height: 16, fill: (0, 0, 255)),
                           colorBar: .init(lo: 0.05, hi: 0.9, cmap: .jet))
    var t = TerminalInfo()
    (t.columns, t.rows) = (80, 24)
    let display = Display(mode: .blocks, terminal: t)
    var out = ""
    display.writeBytes = { out += String(decoding: $0, as: UTF8.self) }
    try display.show(Figure.grid([red, map], title: "σ and λ"))
    let plain = out.replacingOccurrences(of: "\u{1b}\\[[0-9;]*m", with: "", options: .regularExpression)
    let lines = plain.split(separator: "\n").map(String.init)
    XCTAssertEqual(lines[0], "σ and λ")
    XCTAssertTrue(lines[1].hasPrefix("input × mask 1"), lines[1])
    XCTAssertTrue(lines[1].contains("anomaly map"))
    XCTAssertTrue(plain.contains("0.05"), "the colour bar's ends as text")
    XCTAssertTrue(plain.contains("0.9"))
    XCTAssertLessThanOrEqual(lines.map(\.count).max()!, 79, "fits the width")
    XCTAssertLessThanOrEqual(lines.count, 1 + 1 + 18 + 1, "fits three quarters of the height")
    out = ""
    try display.show(Compose.plotFigure([("train", [1, 2, 3], [0.9, 0.5, 0.4]), ("test", [1, 2, 3], [1, 0.7, 0.6])],
                                        title: "loss", xlabel: "epoch", ylabel: "loss"))
    let p = out.replacingOccurrences(of: "\u{1b}\\[[0-9;]*m", with: "", options: .regularExpression)
    XCTAssertTrue(p.contains("x grid: 1 2 3  (epoch)"), p)
    XCTAssertTrue(p.contains("━━ train"))
    XCTAssertTrue(p.contains("━━ test"))
  }

  func testDA1Replies() {
    func parse(_ s: String) -> (params: [Int], sixel: Bool)? { DA1.parse(Array(s.utf8)) }
    XCTAssertEqual(parse("\u{1b}[?63;1;2;4;6;9;15;22c")?.sixel, true, "xterm with sixel")
    XCTAssertEqual(parse("\u{1b}[?62;c")?.sixel, false, "kitty")
    XCTAssertEqual(parse("\u{1b}[?1;2;4c")?.sixel, true, "tmux with images")
    XCTAssertEqual(parse("\u{1b}[?1;2c")?.sixel, false, "tmux without")
    XCTAssertEqual(parse("abc\u{1b}]11;rgb:0000/0000/0000\u{1b}\\\u{1b}[?65;4;6;18;22cxyz")?.params, [65, 4, 6, 18, 22], "reply mixed with other bytes")
    XCTAssertEqual(parse("\u{1b}[?4;1c")?.sixel, false, "the first parameter is the class, not a feature")
    XCTAssertNil(parse(""))
    XCTAssertNil(parse("\u{1b}[?63;1;2"), "an unfinished reply")
  }

  func testQueryWithoutReplyTimesOut() {
    var fds: [Int32] = [0, 0]
    XCTAssertEqual(pipe(&fds), 0)
    defer { close(fds[0]); close(fds[1]) }
    let start = Date()
    let reply = TerminalQuery.collect(fd: fds[0], timeout: 0.3)
    let elapsed = Date().timeIntervalSince(start)
    XCTAssertTrue(reply.isEmpty)
    XCTAssertGreaterThanOrEqual(elapsed, 0.25)
    XCTAssertLessThan(elapsed, 2, "never hangs")
    // A reply that arrives is collected and stops the wait early.
    _ = "\u{1b}[?62;4c".withCString { write(fds[1], $0, strlen($0)) }
    let got = TerminalQuery.collect(fd: fds[0], timeout: 5)
    XCTAssertEqual(DA1.parse(got)?.sixel, true)
  }

  func testFilesModeWritesPNGAndPrintsTheLine() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("riad-display-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let display = Display(mode: .files, outDir: dir)
    var printed = ""
    display.writeBytes = { printed += String(decoding: $0, as: UTF8.self) }
    let img = testImage()
    try display.show(img)
    XCTAssertEqual(printed, "[image 1: \(dir)/image-001.png 20×14]\n")
    XCTAssertEqual(try RGBImage(PNG.read("\(dir)/image-001.png").tensor), img)
  }

  /// How auto mode decides, from what the environment and the terminal say.
  func testAutoModeDecisions() {
    var t = TerminalInfo()
    t.stdoutIsTerminal = true; t.stdinIsTerminal = true
    XCTAssertEqual(Display.resolve(.auto, t).0, .blocks, "no answer")
    t.da1 = [63, 1, 2, 4]
    XCTAssertEqual(Display.resolve(.auto, t).0, .sixel)
    t.kittyAnswered = true
    XCTAssertEqual(Display.resolve(.auto, t).0, .kitty, "kitty's answer wins over sixel")
    t.environmentProtocol = (.iterm, "TERM_PROGRAM=iTerm.app")
    XCTAssertEqual(Display.resolve(.auto, t).0, .iterm, "the environment first")
    t.tmux = .init(version: "tmux 3.3a", passthrough: "off", nativeSixel: false)
    XCTAssertEqual(Display.resolve(.auto, t).0, .blocks, "tmux without passthrough")
    t.tmux?.passthrough = "on"
    XCTAssertEqual(Display.resolve(.auto, t).0, .iterm, "tmux passthrough to a known terminal")
    t.tmux?.nativeSixel = true
    XCTAssertEqual(Display.resolve(.auto, t).0, .sixel, "tmux 3.4 with sixel draws it itself")
    t.stdoutIsTerminal = false
    XCTAssertEqual(Display.resolve(.auto, t).0, .files)
    XCTAssertEqual(TerminalInfo.protocolFromEnvironment(["TERM": "xterm-kitty"])?.mode, .kitty)
    XCTAssertEqual(TerminalInfo.protocolFromEnvironment(["TERM_PROGRAM": "WezTerm"])?.mode, .iterm)
    XCTAssertNil(TerminalInfo.protocolFromEnvironment(["TERM": "xterm-256color"]))
  }

  /// The replies to CSI 14 t and CSI 16 t give the cell size.
  func testWindowSizeReplies() {
    var t = TerminalInfo()
    (t.columns, t.rows) = (80, 24)
    t.read(Array("\u{1b}_Gi=31;OK\u{1b}\\\u{1b}[4;312;480t\u{1b}[6;13;6t\u{1b}[?63;1;2;4c".utf8))
    XCTAssertTrue(t.kittyAnswered)
    XCTAssertEqual(t.cellWidth, 6)
    XCTAssertEqual(t.cellHeight, 13)
    XCTAssertTrue(t.sixel)
  }
}
