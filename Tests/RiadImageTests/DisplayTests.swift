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
    // '▀', bottom = background); the odd last row gets a black bottom.
    var img = RGBImage(width: 2, height: 3, fill: (0, 0, 0))
    img.set(0, 0, (255, 0, 0)); img.set(1, 1, (0, 255, 0)); img.set(0, 2, (0, 0, 255))
    let snapshot = "\u{1b}[38;2;255;0;0m\u{1b}[48;2;0;0;0m▀\u{1b}[38;2;0;0;0m\u{1b}[48;2;0;255;0m▀\u{1b}[0m\n"
      + "\u{1b}[38;2;0;0;255m\u{1b}[48;2;0;0;0m▀\u{1b}[38;2;0;0;0m\u{1b}[48;2;0;0;0m▀\u{1b}[0m\n"
    XCTAssertEqual(Blocks.render(img, maxColumns: 80, upscale: false), snapshot)
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
    display.write = { printed += $0 }
    let img = testImage()
    try display.show(img)
    XCTAssertEqual(printed, "[image 1: \(dir)/image-001.png 20×14]\n")
    XCTAssertEqual(try RGBImage(PNG.read("\(dir)/image-001.png").tensor), img)
  }
}
