import RiadTensor
import RiadTestSupport
import XCTest

/// Winograd's F(2×2, 3×3) and F(4×4, 3×3) for same 3×3 convolutions, and
/// F(2×2, 2×2) for strided and transposed 4×4 ones, against PyTorch's
/// golden cases, finite differences and im2col + sgemm, on shapes that hit
/// their edges: heights and widths that are not multiples of the tile
/// (tiles past the image), images of one pixel, channel counts of every
/// size, bias, and chunks of tiles that end inside a tile row. They need
/// none of riad's kernels, so these run on every processor.
final class WinogradConvolutionTests: RiadTestCase {
  override func tearDown() {
    convolutionPolicy = .automatic
    winogradChunkTiles = nil
  }

  /// y = f(x, w, b) (by default conv2d with padding 1) and the gradients of
  /// sum(y · r), r fixed.
  func run(_ x: Tensor, _ w: Tensor, _ b: Tensor,
           _ f: (Tensor, Tensor, Tensor) throws -> Tensor = { try Tensor.conv2d($0, $1, $2, padding: 1) })
    throws -> (Tensor, Tensor, Tensor, Tensor) {
    let px = x.copy().asParameter(), pw = w.copy().asParameter(), pb = b.copy().asParameter()
    let y = try f(px, pw, pb)
    var r = RandomGenerator(seed: 4)
    try (y * Tensor.randn(y.shape, using: &r)).sum().backward()
    return (y, px.grad!, pw.grad!, pb.grad!)
  }

  func testWinogradIsChosenWhenAsked() {
    withPolicy(.winograd) {
      XCTAssertEqual(Tensor.convolutionImplementation(input: [2, 8, 9, 9], weight: [4, 8, 3, 3], stride: 1, padding: 1), "winograd")
      // Not a same 3×3 convolution: the automatic choice.
      XCTAssertNotEqual(Tensor.convolutionImplementation(input: [2, 8, 9, 9], weight: [4, 8, 3, 3], stride: 2, padding: 1), "winograd")
      XCTAssertEqual(Tensor.convolutionImplementation(input: [2, 8, 8, 6], weight: [4, 8, 4, 4], stride: 2, padding: 1), "winograd")
      XCTAssertEqual(Tensor.convolutionImplementation(input: [2, 4, 4, 3], weight: [4, 8, 4, 4], stride: 2, padding: 1,
                                                      transposed: true), "winograd")
      // An odd fine grid: the phases do not cover it evenly.
      XCTAssertNotEqual(Tensor.convolutionImplementation(input: [2, 8, 9, 9], weight: [4, 8, 4, 4], stride: 2, padding: 1), "winograd")
      XCTAssertNotEqual(Tensor.convolutionImplementation(input: [2, 8, 9, 9], weight: [4, 8, 5, 5], stride: 1, padding: 2), "winograd")
    }
    withPolicy(.winograd4) {
      XCTAssertEqual(Tensor.convolutionImplementation(input: [2, 8, 9, 9], weight: [4, 8, 3, 3], stride: 1, padding: 1), "winograd4")
      XCTAssertEqual(Tensor.convolutionImplementation(input: [2, 8, 8, 6], weight: [4, 8, 4, 4], stride: 2, padding: 1), "winograd")
    }
  }

  /// The two 3×3 algorithms: F(2×2, 3×3) and F(4×4, 3×3).
  let sameAlgorithms: [(ConvolutionPolicy, String)] = [(.winograd, "winograd"), (.winograd4, "winograd4")]

  func testGolden() throws {
    for (policy, path) in sameAlgorithms {
    try withPolicy(policy) {
      for name in ["conv2d_k3_s1_p1", "conv2d_k4_s2_p1", "conv_transpose2d_k4_s2_p1"] {
      let g = try Golden(name)
      let x = g.input("x").asParameter(), w = g.input("w").asParameter(), b = g.input("b").asParameter()
      XCTAssertEqual(Tensor.convolutionImplementation(input: x.shape, weight: w.shape, stride: name.hasSuffix("s1_p1") ? 1 : 2,
                                                      padding: 1, transposed: name.hasPrefix("conv_transpose")),
                     name.hasSuffix("s1_p1") ? path : "winograd", name)
      let y = name == "conv2d_k3_s1_p1" ? try Tensor.conv2d(x, w, b, stride: 1, padding: 1)
        : name.hasPrefix("conv2d") ? try Tensor.conv2d(x, w, b, stride: 2, padding: 1)
        : try Tensor.convTranspose2d(x, w, b, stride: 2, padding: 1)
      assertClose(y, g.output("y"), atol: g.tolerance, "y")
      try (y * g.input("gy")).sum().backward()
      assertClose(x.grad!, g.output("gx"), atol: g.tolerance, "gx")
      assertClose(w.grad!, g.output("gw"), atol: g.tolerance, "gw")
      assertClose(b.grad!, g.output("gb"), atol: g.tolerance, "gb")
      }
    }
    }
  }

  func testFiniteDifferences() throws {
    var rng = RandomGenerator(seed: 31)
    for (policy, _) in sameAlgorithms {
    try withPolicy(policy) {
      for shape in [[2, 3, 5, 6], [1, 2, 1, 3], [1, 4, 4, 4], [1, 2, 9, 7]] {
        let x = Tensor.randn(shape, using: &rng), w = Tensor.randn([5, shape[1], 3, 3], using: &rng)
        let b = Tensor.randn([5], using: &rng)
        try assertGradientMatchesFiniteDifferences(x) { try weighted(try Tensor.conv2d($0, w, b, padding: 1)) }
        try assertGradientMatchesFiniteDifferences(w) { try weighted(try Tensor.conv2d(x, $0, b, padding: 1)) }
        try assertGradientMatchesFiniteDifferences(b) { try weighted(try Tensor.conv2d(x, w, $0, padding: 1)) }
      }
    }
    }
  }

  /// Output and all three gradients equal im2col's, also when the tiles
  /// go in chunks of 7 (which end inside tile rows and inside images).
  func testAgreesWithIm2col() throws {
    var rng = RandomGenerator(seed: 32)
    // The last two have runs of eight tiles and more, for the transforms'
    // eight-tile vectors (with tiles left over, and a last tile that sticks out).
    for (shape, out) in [([2, 5, 7, 9], 6), ([3, 64, 16, 16], 64), ([1, 130, 8, 12], 70), ([2, 3, 1, 1], 4),
                         ([1, 2, 2, 3], 3), ([4, 16, 13, 6], 33), ([2, 8, 10, 11], 9),
                         ([1, 6, 9, 38], 5), ([2, 4, 5, 70], 3)] {
      let x = Tensor.randn(shape, using: &rng), w = Tensor.randn([out, shape[1], 3, 3], using: &rng)
      let b = Tensor.randn([out], using: &rng)
      let expected = try withPolicy(.im2col) { try run(x, w, b) }
      for (policy, path) in sameAlgorithms {
      for tiles in [nil, 7] {
        winogradChunkTiles = tiles
        let got = try withPolicy(policy) { try run(x, w, b) }
        let what = "\(path), \(shape) → \(out), \(tiles == nil ? "automatic chunks" : "chunks of 7 tiles")"
        // Each sum has 9·C (y), 9·O (gx) or N·H·W (gw) terms of size ~1: a
        // few float roundings of the square root of that count, ten times
        // as many for F(4×4, 3×3), whose transforms weigh terms by up to 8
        // (measured: 36 times F(2×2, 3×3)'s bound at most, on 64 channels).
        func tolerance(_ terms: Int) -> Double { 1e-6 * Double(terms).squareRoot() * (policy == .winograd ? 4 : 80) }
        assertClose(got.0, expected.0, atol: tolerance(9 * shape[1]), rtol: 1e-5, "y, \(what)")
        assertClose(got.1, expected.1, atol: tolerance(9 * out), rtol: 1e-5, "gx, \(what)")
        assertClose(got.2, expected.2, atol: tolerance(shape[0] * shape[2] * shape[3] * 9), rtol: 1e-5, "gw, \(what)")
        assertClose(got.3, expected.3, atol: 1e-4, rtol: 1e-5, "gb, \(what)")
      }
      }
    }
  }

  /// The 4×4 stride-2 convolution and its transpose by phases equal
  /// im2col's, output and all three gradients, with odd coarse grids, few
  /// and many channels, and chunks of 5 tiles.
  func testStridedAgreesWithIm2col() throws {
    var rng = RandomGenerator(seed: 33)
    let strided: (Tensor, Tensor, Tensor) throws -> Tensor = { try Tensor.conv2d($0, $1, $2, stride: 2, padding: 1) }
    let transposed: (Tensor, Tensor, Tensor) throws -> Tensor = { try Tensor.convTranspose2d($0, $1, $2, stride: 2, padding: 1) }
    for (isTransposed, shape, out) in [(false, [2, 5, 8, 6], 7), (false, [3, 64, 16, 16], 64), (false, [1, 3, 2, 2], 2),
                                       (true, [2, 7, 3, 5], 4), (true, [2, 64, 8, 8], 70), (true, [1, 2, 1, 1], 3)] {
      let x = Tensor.randn(shape, using: &rng)
      let w = Tensor.randn(isTransposed ? [shape[1], out, 4, 4] : [out, shape[1], 4, 4], using: &rng)
      let b = Tensor.randn([out], using: &rng)
      let f = isTransposed ? transposed : strided
      let expected = try withPolicy(.im2col) { try run(x, w, b, f) }
      for tiles in [nil, 5] {
        winogradChunkTiles = tiles
        let got = try withPolicy(.winograd) { try run(x, w, b, f) }
        let what = "\(isTransposed ? "transposed " : "")\(shape) → \(out), \(tiles == nil ? "automatic chunks" : "chunks of 5 tiles")"
        func tolerance(_ terms: Int) -> Double { 1e-6 * Double(terms).squareRoot() * 4 }
        let terms = 16 * max(shape[1], out)
        assertClose(got.0, expected.0, atol: tolerance(terms), rtol: 1e-5, "y, \(what)")
        assertClose(got.1, expected.1, atol: tolerance(terms), rtol: 1e-5, "gx, \(what)")
        assertClose(got.2, expected.2, atol: tolerance(shape[0] * shape[2] * shape[3] * 16), rtol: 1e-5, "gw, \(what)")
        assertClose(got.3, expected.3, atol: 1e-4, rtol: 1e-5, "gb, \(what)")
      }
    }
  }

  func testStridedFiniteDifferences() throws {
    var rng = RandomGenerator(seed: 34)
    try withPolicy(.winograd) {
      let x = Tensor.randn([2, 3, 6, 4], using: &rng), w = Tensor.randn([5, 3, 4, 4], using: &rng)
      let b = Tensor.randn([5], using: &rng), xt = Tensor.randn([2, 5, 3, 2], using: &rng), bt = Tensor.randn([3], using: &rng)
      try assertGradientMatchesFiniteDifferences(x) { try weighted(try Tensor.conv2d($0, w, b, stride: 2, padding: 1)) }
      try assertGradientMatchesFiniteDifferences(w) { try weighted(try Tensor.conv2d(x, $0, b, stride: 2, padding: 1)) }
      try assertGradientMatchesFiniteDifferences(xt) { try weighted(try Tensor.convTranspose2d($0, w, bt, stride: 2, padding: 1)) }
      try assertGradientMatchesFiniteDifferences(w) { try weighted(try Tensor.convTranspose2d(xt, $0, bt, stride: 2, padding: 1)) }
    }
  }
}
