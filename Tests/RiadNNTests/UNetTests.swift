import Foundation
import RiadMethod
import RiadNN
import RiadTensor
import RiadTestSupport
import XCTest

/// The whole U-Net against a PyTorch-written checkpoint and its outputs.
final class UNetTests: RiadTestCase {
  func goldenNet() throws -> (UNet, Golden) {
    let g = try Golden("unet_base4")
    let net = try UNet.load(from: fixturesURL.appendingPathComponent("golden/unet_base4.safetensors").path)
    return (net, g)
  }

  /// Runs `body` under every convolution policy and kernel variant this
  /// processor can run: im2col + OpenBLAS only, Winograd's F(2×2, 3×3) and
  /// F(4×4, 3×3) with im2col (what processors without any kernels run for
  /// wide layers), and
  /// for each variant (AVX-512, AVX2, NEON) the measured
  /// choice and the plane kernels everywhere.
  func forEachConvolutionPolicy(_ body: (String) throws -> Void) rethrows {
    let savedVariant = kernelVariant
    defer { convolutionPolicy = .automatic; kernelVariant = savedVariant }
    convolutionPolicy = .im2col
    try body("im2col")
    // Winograd for every 3×3 layer (the golden model's channels are below
    // the automatic choice's 64), the rest im2col: no kernel variant.
    kernelVariant = nil
    convolutionPolicy = .winograd
    try body("winograd, no kernels")
    convolutionPolicy = .winograd4
    try body("winograd4, no kernels")
    for variant in KernelVariant.available {
      kernelVariant = variant
      for (name, policy) in [("automatic", ConvolutionPolicy.automatic), ("planes", .planes)] {
        convolutionPolicy = policy
        try body("\(name), \(variant.rawValue)")
      }
    }
  }

  func testEvalOutputMatchesPyTorch() throws {
    try forEachConvolutionPolicy { policy in
      let (net, g) = try goldenNet()
      XCTAssertEqual(net.config, UNetConfig(channels: 3, base: 4, depth: 5, out: "sigmoid"))
      XCTAssertEqual(net.parameterCount, 113_639)
      net.training = false
      let y = try withNoGrad { try net(g.input("x")) }
      assertClose(y, g.output("y_eval"), atol: g.tolerance, "y_eval (\(policy))")
    }
  }

  func testTrainModeInpaintingLossAndGradients() throws {
    try forEachConvolutionPolicy { policy in
      let (net, g) = try goldenNet()
      net.training = true
      let r = try Inpainting.inpaint(net, g.input("x"), g.input("masks"))
      assertClose(r, g.output("r"), atol: g.tolerance, "r (\(policy))")
      let loss = try Losses.riadLoss(g.input("x"), r)
      XCTAssertEqual(Double(loss.data[0]), Double(g.output("loss").data[0]), accuracy: g.tolerance, policy)
      try loss.backward()
      let named = Dictionary(uniqueKeysWithValues: net.namedTensors.map { ($0.name, $0.tensor) })
      assertClose(named["down1.conv1.weight"]!.grad!, g.output("grad_down1_conv1_weight"), atol: g.tolerance,
                  "grad down1.conv1.weight (\(policy))")
      assertClose(named["final.bias"]!.grad!, g.output("grad_final_bias"), atol: g.tolerance, "grad final.bias (\(policy))")
    }
  }

  func testFullSizeParameterCount() throws {
    var rng = RandomGenerator(seed: 0)
    XCTAssertEqual(try UNet(UNetConfig(base: 64), rng: &rng).parameterCount, 28_805_699)
  }

  func testCheckpointRoundTripAndNames() throws {
    let (net, _) = try goldenNet()
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("riad-ckpt-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("net.safetensors").path
    try net.save(to: path)
    let again = try UNet.load(from: path)
    XCTAssertEqual(again.config, net.config)
    for (a, b) in zip(net.namedTensors, again.namedTensors) {
      XCTAssertEqual(a.name, b.name)
      XCTAssertEqual(a.tensor.data, b.tensor.data, a.name)
    }
    let (tensors, meta, _) = try Safetensors.read(path)
    XCTAssertEqual(meta["format"], "riad")
    XCTAssertNotNil(tensors["up1.upconv.weight"])
    XCTAssertNotNil(tensors["down1.bn1.running_mean"])
    // No temporary file is left behind.
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["net.safetensors"])
  }

  func testBadCheckpointsAreRejectedClearly() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("riad-bad-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let good = try Data(contentsOf: fixturesURL.appendingPathComponent("golden/unet_base4.safetensors"))
    let truncated = dir.appendingPathComponent("cut.safetensors").path
    try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: truncated))
    XCTAssertThrowsError(try UNet.load(from: truncated)) { XCTAssertTrue("\($0)".contains("truncated"), "\($0)") }
    let foreign = dir.appendingPathComponent("foreign.png").path
    try Data("\u{89}PNG\r\n\u{1a}\nrest".utf8).write(to: URL(fileURLWithPath: foreign))
    XCTAssertThrowsError(try UNet.load(from: foreign)) { XCTAssertTrue("\($0)".contains("not a safetensors file"), "\($0)") }
    XCTAssertThrowsError(try UNet.load(from: dir.appendingPathComponent("missing").path)) {
      XCTAssertTrue("\($0)".contains("no such file"), "\($0)")
    }
    // A checkpoint of another model: same format, different names.
    let other = dir.appendingPathComponent("other.safetensors").path
    try Safetensors.write([("encoder.weight", Tensor.ones([2]))],
                          metadata: ["format": "riad", "model": "unet", "config": UNetConfig(base: 4).json], to: other)
    XCTAssertThrowsError(try UNet.load(from: other)) { XCTAssertTrue("\($0)".contains("has no tensor 'down1"), "\($0)") }
  }
}

final class OptimizerTests: RiadTestCase {
  func testAdamMatchesPyTorch() throws {
    let g = try Golden("adam")
    let p = g.input("p0").asParameter()
    let grads = g.input("grads"), expected = g.output("steps")
    let opt = Adam([p], lr: 1e-2, weightDecay: 1e-5)
    for s in 0..<3 {
      p.grad = try grads.indexed([.at(s)])
      opt.step()
      assertClose(p, try expected.indexed([.at(s)]), atol: g.tolerance, "step \(s + 1)")
    }
  }

  func testSGDWithMomentumByHand() {
    let p = Tensor(shape: [1], data: [1]).asParameter()
    let opt = SGD([p], lr: 0.1, momentum: 0.9)
    p.grad = Tensor(shape: [1], data: [1]); opt.step()   // v = 1,   p = 0.9
    p.grad = Tensor(shape: [1], data: [1]); opt.step()   // v = 1.9, p = 0.71
    XCTAssertEqual(p.data[0], 0.71, accuracy: 1e-6)
  }
}

/// Every parallel loop splits work so that each output element is computed
/// by one thread in a fixed order: the U-Net's output and gradients must not
/// change by a single bit with the number of threads. This also drives a few
/// thousand parallel loops of every kind through riad's worker pool.
final class ThreadCountTests: RiadTestCase {
  override func tearDown() { setThreads(ProcessInfo.processInfo.activeProcessorCount) }

  func testResultsDoNotDependOnTheNumberOfThreads() throws {
    func run(threads: Int) throws -> [[Float]] {
      setThreads(threads)
      var rng = RandomGenerator(seed: 3)
      let net = try UNet(UNetConfig(base: 8), rng: &rng)
      let x = Tensor.rand([4, 3, 32, 32], using: &rng)
      var results: [[Float]] = []
      for _ in 0..<3 {
        let y = try net(x)
        try y.mean().backward()
        results.append(y.data)
      }
      return results + net.parameters.map { $0.grad!.data }
    }
    let one = try run(threads: 1)
    for threads in [2, 3] {
      let many = try run(threads: threads)
      XCTAssertEqual(one.count, many.count)
      for (i, (a, b)) in zip(one, many).enumerated() {
        if a != b {
          let pairs = zip(a, b).filter { $0.bitPattern != $1.bitPattern }
          let worst = pairs.map { abs($0 - $1) }.max() ?? 0
          XCTFail("result \(i) differs between 1 and \(threads) threads: \(pairs.count) of \(a.count) elements, by up to \(worst), NaN \(pairs.contains { $0.isNaN || $1.isNaN })")
        }
      }
    }
  }
}
