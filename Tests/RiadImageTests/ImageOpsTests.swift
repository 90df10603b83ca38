import RiadImage
import RiadTensor
import RiadTestSupport
import XCTest

/// Hand-worked cases for resizing, colour maps, grids and plots.
final class ImageOpsTests: RiadTestCase {
  func testResizeAveragesAreasWhenShrinking() throws {
    let t = Tensor(shape: [1, 2, 4], data: [1, 3, 5, 7, 2, 4, 6, 8])
    let half = try ImageOps.resize(t, height: 1, width: 2)
    XCTAssertEqual(half.data, [2.5, 6.5])
    // 3 → 2: each output covers 1.5 inputs.
    let third = try ImageOps.resize(Tensor(shape: [1, 3], data: [0, 3, 6]), height: 1, width: 2)
    XCTAssertEqual(third.data[0], (0 * 1 + 3 * 0.5) / 1.5, accuracy: 1e-6)
    XCTAssertEqual(third.data[1], (3 * 0.5 + 6 * 1) / 1.5, accuracy: 1e-6)
  }

  func testResizeIsBilinearWhenEnlarging() throws {
    // 2 → 4 with half-pixel centres: 0, 0.25·… as PyTorch's align_corners=False.
    let up = try ImageOps.resize(Tensor(shape: [1, 2], data: [0, 4]), height: 1, width: 4)
    XCTAssertEqual(up.data, [0, 1, 3, 4])
  }

  func testGrayAndColourMaps() throws {
    let rgb = Tensor(shape: [3, 1, 1], data: [1, 0.5, 0])
    XCTAssertEqual(try ImageOps.toGray(rgb).data[0], 0.299 + 0.5 * 0.587, accuracy: 1e-6)
    let (r0, g0, b0) = Colormap.jet.rgb(0), (r1, _, b1) = Colormap.jet.rgb(1)
    XCTAssertEqual([r0, g0, b0], [0, 0, 0.5])
    XCTAssertEqual([r1, b1], [0.5, 0])
    let v = Colormap.viridis.rgb(1)
    XCTAssertEqual(v.0 * 255, 0xfd, accuracy: 0.01)
    let heat = try ImageOps.heatmap(Tensor(shape: [1, 2], data: [2, 4]), cmap: .gray)
    XCTAssertEqual(heat.data, [0, 1, 0, 1, 0, 1], "the data range maps to the ends")
    let fixed = try ImageOps.heatmap(Tensor(shape: [1, 1], data: [0.5]), cmap: .gray, range: (0, 2))
    XCTAssertEqual(fixed.data, [0.25, 0.25, 0.25])
    let o = try ImageOps.overlay(Tensor(shape: [1, 1, 1], data: [1]), Tensor(shape: [1, 1], data: [0]), alpha: 0.5, cmap: .gray)
    XCTAssertEqual(o.data, [0.5, 0.5, 0.5])
  }

  func testGridPlacesCaptionedPanels() throws {
    let red = RGBImage(width: 4, height: 4, fill: (255, 0, 0)), blue = RGBImage(width: 4, height: 4, fill: (0, 0, 255))
    let g = try Compose.grid([("a", red), ("b", blue)], cols: 2, minSide: 8)
    // Panels are upscaled ×2, with a caption line above, and 6 px padding.
    XCTAssertEqual(g.width, 2 * 8 + 3 * 6)
    XCTAssertEqual(g.pixel(6 + 3, 6 + 12 + 3).0, 255)
    XCTAssertEqual(g.pixel(6 + 8 + 6 + 3, 6 + 12 + 3).2, 255)
    // The caption is drawn in black above the first panel.
    let captionPixels = (6..<13).flatMap { y in (6..<12).map { x in g.pixel(x, y) } }.filter { $0 == (0, 0, 0) }
    XCTAssertGreaterThan(captionPixels.count, 4)
  }

  func testPlotDrawsEachSeriesInItsColour() throws {
    let img = try Compose.plot([("up", [0, 1, 2], [0, 1, 2]), ("down", [0, 1, 2], [2, 1, 0])], title: "t")
    XCTAssertEqual(img.width, 480)
    func count(_ c: (UInt8, UInt8, UInt8)) -> Int {
      var n = 0
      for y in 0..<img.height { for x in 0..<img.width where img.pixel(x, y) == c { n += 1 } }
      return n
    }
    XCTAssertGreaterThan(count((31, 119, 180)), 300, "first series in blue")
    XCTAssertGreaterThan(count((255, 127, 14)), 300, "second series in orange")
    XCTAssertThrowsError(try Compose.plot([(nil, [0], [Double.nan])]))
  }
}
