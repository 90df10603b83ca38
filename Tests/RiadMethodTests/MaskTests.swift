import RiadMethod
import RiadTensor
import RiadTestSupport
import XCTest

/// The masks of the paper's Algorithm 1: every pixel hidden in exactly one
/// mask, sets whose sizes differ by at most one cell, whole cells, seeds.
final class MaskTests: RiadTestCase {
  func testEveryPixelHiddenExactlyOnceAndBalancedSets() throws {
    var rng = RandomGenerator(seed: 11)
    for (h, w) in [(64, 64), (33, 17), (7, 9), (256, 31)] {
      for k in [1, 2, 4, 8, 16] {
        for n in [2, 3, 5] {
          let m = try Masks.make(height: h, width: w, k: k, n: n, using: &rng)
          XCTAssertEqual(m.shape, [n, 1, h, w])
          for p in 0..<(h * w) {
            let hidden = (0..<n).filter { m.data[$0 * h * w + p] == 0 }.count
            XCTAssertEqual(hidden, 1, "pixel \(p) of \(h)×\(w), k \(k), n \(n)")
          }
          // Count hidden cells per mask via each cell's top-left pixel.
          let gh = (h + k - 1) / k, gw = (w + k - 1) / k
          var cells = [Int](repeating: 0, count: n)
          for i in 0..<n {
            for cy in 0..<gh {
              for cx in 0..<gw where m.data[i * h * w + cy * k * w + cx * k] == 0 { cells[i] += 1 }
            }
          }
          XCTAssertEqual(cells.reduce(0, +), gh * gw)
          XCTAssertLessThanOrEqual(cells.max()! - cells.min()!, 1, "subset sizes \(cells)")
        }
      }
    }
  }

  func testCellsAreWholeAndSeedsRepeat() throws {
    var a = RandomGenerator(seed: 5), b = RandomGenerator(seed: 5)
    let m = try Masks.make(height: 16, width: 16, k: 4, n: 3, using: &a)
    XCTAssertEqual(m.data, try Masks.make(height: 16, width: 16, k: 4, n: 3, using: &b).data)
    for i in 0..<3 { for cy in 0..<4 { for cx in 0..<4 {
      let v = m.data[i * 256 + cy * 64 + cx * 4]
      for y in 0..<4 { for x in 0..<4 { XCTAssertEqual(m.data[i * 256 + (cy * 4 + y) * 16 + cx * 4 + x], v) } }
    } } }
  }
}
