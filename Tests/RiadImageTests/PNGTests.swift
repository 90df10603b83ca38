import Foundation
import RiadImage
import RiadTensor
import RiadTestSupport
import XCTest

/// PNG reading against files written by an independent encoder (numpy +
/// zlib, and PIL for the palette), and round trips through riad.
final class PNGTests: RiadTestCase {
  let dir = fixturesURL.appendingPathComponent("png")
  var expected: [String: Any] = [:]

  override func setUpWithError() throws {
    expected = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("expected.json"))) as! [String: Any]
  }

  /// XCTest keeps every test case object until the process ends.
  override func tearDown() { expected = [:] }

  func expectedTensor(_ name: String) -> Tensor {
    let d = expected[name] as! [String: Any]
    return Tensor(shape: (d["shape"] as! [NSNumber]).map(\.intValue), data: (d["data"] as! [NSNumber]).map(\.floatValue))
  }

  func testEveryFormatReads() throws {
    for name in ["gray8", "gray16", "graya8", "graya16", "rgb8", "rgb16", "rgba8", "rgba16", "palette"] {
      let image = try PNG.read(dir.appendingPathComponent(name + ".png").path)
      assertClose(image.tensor, expectedTensor(name), atol: 1e-7, name)
      XCTAssertEqual(image.bitDepth, name.hasSuffix("16") ? 16 : 8, name)
    }
  }

  func testRoundTripsAreExact() throws {
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("riad-png-\(getpid())")
    try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: tmp) }
    for name in ["gray8", "gray16", "graya8", "graya16", "rgb8", "rgb16", "rgba8", "rgba16", "palette"] {
      let first = try PNG.read(dir.appendingPathComponent(name + ".png").path)
      let path = tmp.appendingPathComponent(name + ".png").path
      try PNG.write(first.tensor, to: path, bitDepth: first.bitDepth)
      let second = try PNG.read(path)
      XCTAssertEqual(second.tensor.shape, first.tensor.shape, name)
      XCTAssertEqual(second.tensor.data, first.tensor.data, "\(name) round trip")
    }
    // A tensor of 8-bit levels survives writing and reading unchanged.
    var rng = RandomGenerator(seed: 2)
    let levels = Tensor(shape: [3, 7, 9], data: (0..<189).map { _ in Float(rng.nextInt(below: 256)) / 255 })
    try PNG.write(levels, to: tmp.appendingPathComponent("levels.png").path)
    XCTAssertEqual(try PNG.read(tmp.appendingPathComponent("levels.png").path).tensor.data, levels.data)
  }

  func testBadFilesGiveClearErrors() throws {
    for (file, phrase) in [("truncated.png", "corrupt or truncated"), ("corrupt.png", "truncated"), ("notpng.png", "not a valid PNG file"),
                           ("missing.png", "no such file")] {
      let path = dir.appendingPathComponent(file).path
      XCTAssertThrowsError(try PNG.read(path), file) { error in
        XCTAssertTrue("\(error)".contains(path), "names the file: \(error)")
        XCTAssertTrue("\(error)".contains(phrase) || (file == "corrupt.png" && "\(error)".contains("not a valid PNG")), "\(error)")
      }
    }
    XCTAssertThrowsError(try PNG.write(Tensor.zeros([5, 2, 2]), to: "/tmp/x.png"))
    XCTAssertThrowsError(try PNG.write(Tensor.zeros([1, 2, 2]), to: "/no/such/dir/x.png")) { XCTAssertTrue("\($0)".contains("/no/such/dir/x.png")) }
  }
}
