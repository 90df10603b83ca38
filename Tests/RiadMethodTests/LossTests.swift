import RiadMethod
import RiadTensor
import RiadTestSupport
import XCTest

/// The RIAD losses and maps against PyTorch, and their gradients against
/// finite differences.
final class LossTests: RiadTestCase {
  func testGMSAndMSGMSMaps() throws {
    for (file, f) in [("gms_map", Losses.gms), ("msgms_map", { try Losses.msgms($0, $1) })] as [(String, (Tensor, Tensor) throws -> Tensor)] {
      let g = try Golden(file)
      assertClose(try f(g.input("a"), g.input("b")), g.output("map"), atol: g.tolerance, file)
    }
  }

  func testSSIM() throws {
    let g = try Golden("ssim")
    assertClose(try Losses.ssimMap(g.input("a"), g.input("b")), g.output("map"), atol: g.tolerance, "ssim map")
    XCTAssertEqual(Double(try Losses.ssim(g.input("a"), g.input("b")).item()), Double(g.output("mean").data[0]), accuracy: g.tolerance)
  }

  func testRIADLossAndGradient() throws {
    let g = try Golden("riad_loss")
    let r = g.input("r").asParameter()
    let loss = try Losses.riadLoss(g.input("x"), r)
    XCTAssertEqual(Double(loss.data[0]), Double(g.output("loss").data[0]), accuracy: g.tolerance)
    try loss.backward()
    assertClose(r.grad!, g.output("gr"), atol: g.tolerance, "gr")
  }

  func testLossGradientsByFiniteDifferences() throws {
    var rng = RandomGenerator(seed: 3)
    let x = Tensor.rand([1, 2, 16, 16], using: &rng), r = Tensor.rand([1, 2, 16, 16], using: &rng)
    try assertGradientMatchesFiniteDifferences(r, atol: 2e-3, rtol: 5e-2, h: 1e-2) { try Losses.msgms(x, $0).mean() * 100 }
    try assertGradientMatchesFiniteDifferences(r, atol: 2e-3, rtol: 5e-2, h: 1e-2) { try Losses.ssim(x, $0) * 100 }
    try assertGradientMatchesFiniteDifferences(r, atol: 2e-3, rtol: 5e-2, h: 1e-2) { try Losses.mse(x, $0) * 100 }
  }

  func testIdenticalImagesHaveZeroLoss() throws {
    var rng = RandomGenerator(seed: 4)
    let x = Tensor.rand([2, 3, 32, 32], using: &rng)
    XCTAssertEqual(try Losses.riadLoss(x, x).item(), 0, accuracy: 1e-5)
    XCTAssertEqual(try Losses.msgms(x, x).max().item(), 0, accuracy: 1e-6)
  }
}
