import RiadMethod
import RiadNN
import RiadTensor
import RiadTestSupport
import XCTest

final class TrainingTests: RiadTestCase {
  func run(seed: UInt64) throws -> [Double] {
    var rng = RandomGenerator(seed: seed)
    let net = try UNet(UNetConfig(channels: 1, base: 4, depth: 3), rng: &rng)
    // A smooth, learnable texture: stripes with a little noise.
    var noise = RandomGenerator(seed: 1)
    let data = Tensor(shape: [8, 1, 16, 16], data: (0..<(8 * 256)).map { i in
      let x = i % 16, img = i / 256
      return 0.5 + 0.4 * Float(sin(Double(x + img) * 0.8)) + 0.02 * noise.nextNormal()
    })
    let opt = Adam(net.parameters, lr: 1e-2)
    return try Training.train(net, opt, data: data, epochs: 12, batch: 4, ks: [2, 4], n: 3, seed: seed).loss
  }

  func testLossFallsAndRunsRepeat() throws {
    let a = try run(seed: 3), b = try run(seed: 3)
    XCTAssertEqual(a, b, "the same seed gives the same numbers")
    XCTAssertLessThan(a.last!, a.first! * 0.8, "loss \(a)")
  }

  func testNonFiniteLossLeavesModelUnchanged() throws {
    var rng = RandomGenerator(seed: 0)
    let net = try UNet(UNetConfig(channels: 1, base: 2, depth: 2), rng: &rng)
    let before = net.namedTensors.map { $0.tensor.data }
    let x = Tensor(shape: [2, 1, 8, 8], repeating: .nan)
    XCTAssertThrowsError(try Training.step(net, Adam(net.parameters), x, k: 2, n: 3, using: &rng)) {
      XCTAssertTrue("\($0)".contains("not finite"))
    }
    XCTAssertEqual(net.namedTensors.map { $0.tensor.data }.map { $0.map(\.bitPattern) }, before.map { $0.map(\.bitPattern) })
  }

  func testAnomalyMapIsDeterministicAndShaped() throws {
    var rng = RandomGenerator(seed: 0)
    let net = try UNet(UNetConfig(channels: 3, base: 2, depth: 3), rng: &rng)
    let x = Tensor.rand([2, 3, 16, 16], using: &rng)
    let a = try Inpainting.anomalyMap(net, x, seed: 4), b = try Inpainting.anomalyMap(net, x, seed: 4)
    XCTAssertEqual(a.shape, [2, 1, 16, 16])
    XCTAssertEqual(a.data, b.data)
    XCTAssertTrue(net.training, "train mode is restored")
    XCTAssertEqual(Inpainting.smoothSize(256), 21)
    XCTAssertEqual(Inpainting.smoothSize(64), 5)
    XCTAssertEqual(Inpainting.smoothSize(16), 3)
  }
}
