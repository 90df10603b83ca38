import Foundation
import RiadData
import RiadImage
import RiadTensor
import RiadTestSupport
import XCTest

/// Datasets: the MVTec loader on real files (a slice of the CC0 brick
/// category), its errors, and the synthetic generator's exact masks.
final class DataTests: RiadTestCase {
  let brick = fixturesURL.appendingPathComponent("brick").path

  func testLoadsMVTecLayout() throws {
    let ds = try MVTec.load(brick, size: 64)
    XCTAssertEqual(ds.train.shape, [3, 3, 64, 64], "gray files are replicated to 3 channels")
    XCTAssertEqual(ds.test.shape, [5, 3, 64, 64])
    XCTAssertEqual(ds.defects, ["good", "good", "scratch", "scratch", "spot"])
    XCTAssertEqual(ds.labels.data, [0, 0, 1, 1, 1])
    XCTAssertEqual(ds.masks.shape, [5, 1, 64, 64])
    XCTAssertTrue(ds.masks.data.allSatisfy { $0 == 0 || $0 == 1 })
    XCTAssertEqual(try ds.masks.indexed([.at(0)]).sum().item(), 0)
    // The scratch mask, nearest-resized from 128 to 64 at pixel centres,
    // keeps the odd rows and columns of the original.
    let original = try PNG.read("\(brick)/ground_truth/scratch/000_mask.png").tensor
    var expected: Float = 0
    for y in 0..<64 { for x in 0..<64 where original.data[(2 * y + 1) * 128 + 2 * x + 1] > 0.5 { expected += 1 } }
    XCTAssertEqual(try ds.masks.indexed([.at(2)]).sum().item(), expected)
    XCTAssertGreaterThan(expected, 10)
    // gray: one channel; images are area-averaged 2×2 blocks.
    let gray = try MVTec.load(brick, size: 64, gray: true)
    XCTAssertEqual(gray.train.shape, [3, 1, 64, 64])
    let full = try PNG.read("\(brick)/train/good/000.png").tensor
    let block = (full.data[0] + full.data[1] + full.data[128] + full.data[129]) / 4
    XCTAssertEqual(gray.train.data[0], block, accuracy: 1e-6)
  }

  func testBadFoldersNameWhatIsWrong() throws {
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("riad-mvtec-\(getpid())")
    defer { try? FileManager.default.removeItem(at: tmp) }
    XCTAssertThrowsError(try MVTec.load(tmp.path)) { XCTAssertTrue("\($0)".contains("does not exist"), "\($0)") }
    try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    XCTAssertThrowsError(try MVTec.load(tmp.path)) { XCTAssertTrue("\($0)".contains("train/good' is missing"), "\($0)") }
    // Copy the fixture, then remove one mask.
    let copy = tmp.appendingPathComponent("brick")
    try FileManager.default.copyItem(atPath: brick, toPath: copy.path)
    try FileManager.default.removeItem(atPath: copy.appendingPathComponent("ground_truth/spot/000_mask.png").path)
    XCTAssertThrowsError(try MVTec.load(copy.path, size: 32)) {
      XCTAssertTrue("\($0)".contains("ground_truth/spot/000_mask.png"), "\($0)")
    }
    // An empty defect folder.
    try FileManager.default.createDirectory(at: copy.appendingPathComponent("test/crack"), withIntermediateDirectories: true)
    try FileManager.default.removeItem(at: copy.appendingPathComponent("test/spot"))
    XCTAssertThrowsError(try MVTec.load(copy.path, size: 32)) { XCTAssertTrue("\($0)".contains("test/crack' holds no PNG"), "\($0)") }
  }

  func testSyntheticMasksAreExactAndSeeded() throws {
    for kind in Synthetic.defectKinds {
      for seed in 0..<5 as Range<UInt64> {
        var rng = RandomGenerator(seed: seed)
        let clean = Synthetic.texture("weave", 48, &rng)
        var damaged = clean.copy()
        let mask = Synthetic.defect(kind, &damaged, 48, &rng)
        var changed = 0
        for p in 0..<(48 * 48) {
          let differs = (0..<3).contains { clean.data[$0 * 48 * 48 + p] != damaged.data[$0 * 48 * 48 + p] }
          XCTAssertEqual(differs, mask.data[p] == 1, "\(kind) seed \(seed) pixel \(p)")
          if differs { changed += 1 }
        }
        XCTAssertGreaterThan(changed, 5, "\(kind) draws something")
      }
    }
    let a = try Synthetic.make(kind: "wood", size: 32, train: 3, test: 8, seed: 4)
    let b = try Synthetic.make(kind: "wood", size: 32, train: 3, test: 8, seed: 4)
    XCTAssertEqual(a.test.data, b.test.data)
    XCTAssertEqual(a.masks.data, b.masks.data)
    XCTAssertEqual(a.defects, ["good", "good", "good", "good", "scratch", "spot", "missing", "stain"])
    XCTAssertNotEqual(try Synthetic.make(kind: "wood", size: 32, train: 3, test: 8, seed: 5).test.data, a.test.data)
    XCTAssertGreaterThanOrEqual(Synthetic.kinds.count, 3)
    XCTAssertThrowsError(try Synthetic.make(kind: "marble"))
  }

  func testSaveDatasetRoundTripsThroughTheLoader() throws {
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("riad-save-\(getpid())")
    defer { try? FileManager.default.removeItem(at: tmp) }
    let ds = try Synthetic.make(kind: "carpet", size: 32, train: 4, test: 6, seed: 1)
    try ds.save(to: tmp.path)
    let back = try MVTec.load(tmp.path, size: 32)
    XCTAssertEqual(back.train.shape, ds.train.shape)
    assertClose(back.train, ds.train, atol: 0.5 / 255 + 1e-6, "8-bit quantisation only")
    XCTAssertEqual(back.labels.data.reduce(0, +), ds.labels.data.reduce(0, +))
    XCTAssertEqual(back.masks.data.reduce(0, +), ds.masks.data.reduce(0, +))
  }
}
