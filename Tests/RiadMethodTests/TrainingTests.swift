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
    return try Training.train(net, opt, data: data, epochs: 12, batch: 4, ks: [2, 4], n: 3, seed: seed).epochLoss
  }

  func testLossFallsAndRunsRepeat() throws {
    let a = try run(seed: 3), b = try run(seed: 3)
    XCTAssertEqual(a, b, "the same seed gives the same numbers")
    XCTAssertLessThan(a.last!, a.first! * 0.8, "loss \(a)")
  }

  /// Stopped in the middle of the third epoch, training returns what it
  /// did: every step's loss, the two whole epochs, marked interrupted; and
  /// the progress reports count steps over the whole run.
  func testInterruptedRunReturnsItsHistory() throws {
    var rng = RandomGenerator(seed: 0)
    let net = try UNet(UNetConfig(channels: 1, base: 2, depth: 2), rng: &rng)
    let data = Tensor(shape: [8, 1, 8, 8], data: (0..<512).map { Float($0 % 7) / 7 })
    var seen: [TrainingProgress] = []
    let h = try Training.train(net, Adam(net.parameters, lr: 1e-3), data: data, epochs: 5, batch: 4, ks: [2], n: 3, seed: 1,
                               shouldStop: { seen.count == 5 }, progress: { seen.append($0) })
    XCTAssertTrue(h.interrupted)
    XCTAssertEqual(h.stepLoss.count, 5)
    XCTAssertEqual(h.epochs, 2)
    XCTAssertEqual(h.epochLoss.count, 2)
    XCTAssertEqual(h.epochLoss[1], (h.stepLoss[2] + h.stepLoss[3]) / 2, accuracy: 1e-12)
    XCTAssertEqual(seen.map(\.globalStep), [1, 2, 3, 4, 5])
    XCTAssertEqual(seen.map(\.totalSteps), Array(repeating: 10, count: 5))
    XCTAssertEqual(seen.map { Double($0.stepLoss) }, h.stepLoss)
    XCTAssertEqual(seen.last!.epoch, 3)

    let whole = try Training.train(net, Adam(net.parameters, lr: 1e-3), data: data, epochs: 2, batch: 4, ks: [2], n: 3, seed: 1)
    XCTAssertFalse(whole.interrupted)
    XCTAssertEqual(whole.stepLoss.count, 4)
    XCTAssertEqual(whole.epochs, 2)
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
