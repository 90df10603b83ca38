import Foundation
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

  /// Ten epochs, a training checkpoint, a fresh model and optimizer from
  /// it, ten more: the weights of twenty epochs in one call, bit for bit.
  /// Also when the first part was interrupted inside an epoch, and for SGD.
  func testTrainingResumesExactlyFromACheckpoint() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("riad-resume-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var noise = RandomGenerator(seed: 2)
    let data = Tensor(shape: [6, 1, 8, 8], data: (0..<384).map { _ in noise.nextUniform() })
    func fresh() throws -> UNet {
      var rng = RandomGenerator(seed: 4)
      return try UNet(UNetConfig(channels: 1, base: 2, depth: 2), rng: &rng)
    }
    /// The first tensor whose bits differ, with the largest difference; nil when all are equal.
    func difference(_ a: UNet, _ b: UNet) -> String? {
      for (x, y) in zip(a.namedTensors, b.namedTensors) where x.tensor.data.map(\.bitPattern) != y.tensor.data.map(\.bitPattern) {
        return "\(x.name) differs by up to \(zip(x.tensor.data, y.tensor.data).map { abs($0 - $1) }.max()!)"
      }
      return nil
    }
    func train(_ net: UNet, _ opt: Optimizer, _ epochs: Int, stopAfter: Int? = nil) throws -> TrainingHistory {
      var steps = 0
      return try Training.train(net, opt, data: data, epochs: epochs, batch: 4, ks: [2, 4], n: 3, seed: 8,
                                shouldStop: { stopAfter.map { steps >= $0 } ?? false }, progress: { _ in steps += 1 })
    }
    for kind in ["adam", "sgd"] {
      func optimizer(_ net: UNet) -> Optimizer {
        kind == "adam" ? Adam(net.parameters, lr: 1e-2) : SGD(net.parameters, lr: 0.05, momentum: 0.9)
      }
      let whole = try fresh()
      let wholeOpt = optimizer(whole)
      let all = try train(whole, wholeOpt, 20)

      let first = try fresh()
      let firstOpt = optimizer(first)
      _ = try train(first, firstOpt, 10)
      let path = dir.appendingPathComponent("\(kind).safetensors").path
      try first.save(to: path, optimizer: firstOpt)
      let (second, secondOpt, _) = try UNet.loadTraining(from: path)
      XCTAssertEqual(secondOpt.run?.epochs, 10)
      let rest = try train(second, secondOpt, 10)
      XCTAssertNil(difference(second, whole), "\(kind): 10 + 10 epochs through a checkpoint against 20")
      XCTAssertTrue(rest.stepLoss == Array(all.stepLoss.suffix(20)), "\(kind): the losses of epochs 11 to 20 differ")
      XCTAssertEqual(secondOpt.settings.step, wholeOpt.settings.step)

      // Stopped after 5 steps (inside the third epoch of two steps each).
      let cut = try fresh()
      let cutOpt = optimizer(cut)
      XCTAssertTrue(try train(cut, cutOpt, 20, stopAfter: 5).interrupted)
      XCTAssertEqual(cutOpt.run?.epochStep, 1)
      try cut.save(to: path, optimizer: cutOpt)
      let (resumed, resumedOpt, _) = try UNet.loadTraining(from: path)
      _ = try train(resumed, resumedOpt, 18)  // the rest of epoch 3, then epochs 4 to 20
      XCTAssertNil(difference(resumed, whole), "\(kind): an interrupted run, resumed, against 20 epochs")
    }
    // Another seed is another run: it does not continue this one.
    let other = try fresh()
    let otherOpt = Adam(other.parameters, lr: 1e-2)
    _ = try train(other, otherOpt, 1)
    _ = try Training.train(other, otherOpt, data: data, epochs: 1, batch: 4, ks: [2, 4], n: 3, seed: 9)
    XCTAssertEqual(otherOpt.run?.seed, 9)
    XCTAssertEqual(otherOpt.run?.epochs, 1)
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
