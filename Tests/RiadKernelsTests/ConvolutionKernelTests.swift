import RiadTensor
import RiadTestSupport
import XCTest

/// riad's convolution kernels (same convolutions, and strided and
/// transposed ones by phases) against PyTorch, finite differences and the
/// im2col path, on shapes chosen to hit their edges: channel counts that are
/// not multiples of the 8-channel block, odd and tiny images, kernels 1, 3
/// and 5, and batches whose planes end inside a 48-position block. Every
/// test runs once for each kernel variant this machine can execute
/// (AVX-512, AVX2, NEON).
final class ConvolutionKernelTests: RiadTestCase {
  /// Runs `body` once under each kernel variant this machine can execute.
  func forEachVariant(_ body: () throws -> Void) rethrows {
    let saved = kernelVariant
    defer { kernelVariant = saved }
    for v in KernelVariant.available {
      kernelVariant = v
      try body()
    }
  }

  override func setUpWithError() throws {
    try XCTSkipUnless(convolutionKernelsAvailable, "this processor runs none of riad's kernel variants")
  }

  override func tearDown() {
    convolutionPolicy = .automatic
    convolutionPlaneBudget = 16 << 20
  }

  /// The output of `f(x, w)` and the gradients of `sum(y · r)` for x and w,
  /// r a fixed random tensor, under the settings in force.
  func gradients(_ x: Tensor, _ w: Tensor, _ f: (Tensor, Tensor) throws -> Tensor) throws -> (Tensor, Tensor, Tensor) {
    let px = x.copy().asParameter(), pw = w.copy().asParameter()
    let y = try f(px, pw)
    var r = RandomGenerator(seed: 9)
    try (y * Tensor.randn(y.shape, using: &r)).sum().backward()
    return (y, px.grad!, pw.grad!)
  }

  /// `f` under `policy` and under im2col give the same output and gradients.
  func assertAgreesWithIm2col(_ policy: ConvolutionPolicy, _ x: Tensor, _ w: Tensor, _ what: String,
                              _ f: (Tensor, Tensor) throws -> Tensor) throws {
    let (y1, gx1, gw1) = try withPolicy(policy) { try gradients(x, w, f) }
    let (y2, gx2, gw2) = try withPolicy(.im2col) { try gradients(x, w, f) }
    let v = kernelVariant?.rawValue ?? "none"
    assertClose(y1, y2, atol: 1e-3, rtol: 1e-4, "y, \(what), \(v)")
    assertClose(gx1, gx2, atol: 1e-3, rtol: 1e-4, "gx, \(what), \(v)")
    assertClose(gw1, gw2, atol: 1e-2, rtol: 1e-4, "gw, \(what), \(v)")
  }

  /// PyTorch's 3×3 padding-1 convolution through the plane kernels, and its
  /// 4×4 stride-2 convolution and transposed convolution through the phases.
  func testGoldenThroughKernels() throws {
    try forEachVariant {
      try withPolicy(.planes) {
        for name in ["conv2d_k3_s1_p1", "conv2d_k4_s2_p1", "conv_transpose2d_k4_s2_p1"] {
          let g = try Golden(name)
          let x = g.input("x").asParameter(), w = g.input("w").asParameter(), b = g.input("b").asParameter()
          let y = name == "conv2d_k3_s1_p1" ? try Tensor.conv2d(x, w, b, stride: 1, padding: 1)
            : name.hasPrefix("conv2d") ? try Tensor.conv2d(x, w, b, stride: 2, padding: 1)
            : try Tensor.convTranspose2d(x, w, b, stride: 2, padding: 1)
          assertClose(y, g.output("y"), atol: g.tolerance, "\(name) y")
          try (y * g.input("gy")).sum().backward()
          assertClose(x.grad!, g.output("gx"), atol: g.tolerance, "\(name) gx")
          assertClose(w.grad!, g.output("gw"), atol: g.tolerance, "\(name) gw")
          assertClose(b.grad!, g.output("gb"), atol: g.tolerance, "\(name) gb")
        }
      }
    }
  }

  func testFiniteDifferencesThroughKernels() throws {
    try forEachVariant {
      var rng = RandomGenerator(seed: 21)
      try withPolicy(.planes) {
        for (shape, out, k) in [([2, 3, 7, 6], 5, 3), ([1, 1, 5, 9], 3, 5), ([3, 2, 4, 4], 9, 1)] {
          let x = Tensor.randn(shape, using: &rng), w = Tensor.randn([out, shape[1], k, k], using: &rng)
          let b = Tensor.randn([out], using: &rng)
          try assertGradientMatchesFiniteDifferences(x) { try weighted(try Tensor.conv2d($0, w, b, padding: k / 2)) }
          try assertGradientMatchesFiniteDifferences(w) { try weighted(try Tensor.conv2d(x, $0, b, padding: k / 2)) }
          try assertGradientMatchesFiniteDifferences(b) { try weighted(try Tensor.conv2d(x, w, $0, padding: k / 2)) }
        }
        // Strided (4×4 / 2, and 2×2 / 2 without padding) and transposed, by phases.
        for (shape, out, k, p) in [([2, 3, 6, 10], 5, 4, 1), ([1, 2, 4, 6], 9, 2, 0)] {
          let x = Tensor.randn(shape, using: &rng), w = Tensor.randn([out, shape[1], k, k], using: &rng)
          let b = Tensor.randn([out], using: &rng)
          try assertGradientMatchesFiniteDifferences(x) { try weighted(try Tensor.conv2d($0, w, b, stride: 2, padding: p)) }
          try assertGradientMatchesFiniteDifferences(w) { try weighted(try Tensor.conv2d(x, $0, b, stride: 2, padding: p)) }
          let xt = Tensor.randn([shape[0], out, shape[2] / 2, shape[3] / 2], using: &rng)
          let bt = Tensor.randn([shape[1]], using: &rng)
          try assertGradientMatchesFiniteDifferences(xt) { try weighted(try Tensor.convTranspose2d($0, w, bt, stride: 2, padding: p)) }
          try assertGradientMatchesFiniteDifferences(w) { try weighted(try Tensor.convTranspose2d(xt, $0, bt, stride: 2, padding: p)) }
          try assertGradientMatchesFiniteDifferences(bt) { try weighted(try Tensor.convTranspose2d(xt, w, $0, stride: 2, padding: p)) }
        }
      }
    }
  }

  /// Output, input gradient and weight gradient equal im2col's on larger
  /// shapes, including one with more than one tile of positions per plane,
  /// and on every way a block of eight output channels can be partly real.
  func testKernelsAgreeWithIm2col() throws {
    try forEachVariant {
      var rng = RandomGenerator(seed: 5)
      // 24 channels × 25 taps and 80 or 130 channels × 9 taps pass in several
      // groups of input channels, each adding to the sums of the one before.
      for (shape, out, k) in [([3, 10, 20, 37], 11, 3), ([2, 16, 64, 64], 16, 3), ([2, 24, 33, 17], 8, 5),
                              ([8, 3, 32, 32], 16, 3), ([2, 80, 16, 16], 3, 3), ([1, 130, 16, 16], 12, 3),
                              // Blocks of four, two and one real output channels
                              // (the four-row pass, the row kernel) both ways.
                              ([2, 5, 12, 13], 4, 3), ([2, 7, 9, 30], 2, 5), ([2, 6, 10, 10], 1, 3), ([2, 4, 11, 9], 6, 3),
                              // The final layer's shape on a batch whose positions
                              // span several chunks per thread and several
                              // weight-gradient tiles, both ending inside rows.
                              ([4, 32, 40, 36], 3, 3)] {
        let x = Tensor.randn(shape, using: &rng), w = Tensor.randn([out, shape[1], k, k], using: &rng)
        let b = Tensor.randn([out], using: &rng)
        try assertAgreesWithIm2col(.planes, x, w, "\(shape) → \(out), k \(k)") { try Tensor.conv2d($0, $1, b, padding: k / 2) }
      }
    }
  }

  /// The phase path equals im2col for the U-Net's downsampling and upsampling
  /// shapes (and an odd channel count), forward and both gradients.
  func testPhasesAgreeWithIm2col() throws {
    try forEachVariant {
      var rng = RandomGenerator(seed: 6)
      for (transposed, shape, out) in [(false, [8, 16, 64, 64], 32), (false, [3, 5, 40, 24], 11),
                                       (true, [8, 32, 32, 32], 16), (true, [2, 13, 20, 12], 6)] {
        let x = Tensor.randn(shape, using: &rng)
        let w = Tensor.randn(transposed ? [shape[1], out, 4, 4] : [out, shape[1], 4, 4], using: &rng)
        let b = Tensor.randn([out], using: &rng)
        try assertAgreesWithIm2col(.planes, x, w, "\(transposed ? "transposed " : "")\(shape) → \(out)") {
          transposed ? try Tensor.convTranspose2d($0, $1, b, stride: 2, padding: 1)
                     : try Tensor.conv2d($0, $1, b, stride: 2, padding: 1)
        }
      }
    }
  }

  /// Same convolutions go chunk by chunk through each thread's own buffer,
  /// and their weight gradient sums by ranges of positions: one thread or
  /// three give the same outputs and gradients, and two runs with three
  /// threads give identical ones (the sums are added in a fixed order,
  /// whichever thread finishes first).
  func testSameConvolutionsDoNotDependOnThreads() throws {
    try forEachVariant {
      var rng = RandomGenerator(seed: 16)
      let x = Tensor.randn([4, 32, 40, 36], using: &rng), w = Tensor.randn([3, 32, 3, 3], using: &rng)
      let xt = Tensor.randn([4, 3, 40, 36], using: &rng), wt = Tensor.randn([32, 3, 3, 3], using: &rng)
      let saved = workerThreads
      defer { workerThreads = saved }
      for (x, w) in [(x, w), (xt, wt)] {
        func run(threads: Int) throws -> (Tensor, Tensor, Tensor) {
          workerThreads = threads
          return try withPolicy(.planes) { try gradients(x, w) { try Tensor.conv2d($0, $1, nil, padding: 1) } }
        }
        let (y1, gx1, gw1) = try run(threads: 1), (y3, gx3, gw3) = try run(threads: 3), (y3b, gx3b, gw3b) = try run(threads: 3)
        let what = "\(x.shape) → \(w.shape[0])"
        assertClose(y3, y1, atol: 1e-4, "y, 3 threads against 1, \(what)")
        assertClose(gx3, gx1, atol: 1e-4, "gx, 3 threads against 1, \(what)")
        assertClose(gw3, gw1, atol: 1e-2, rtol: 1e-5, "gw, 3 threads against 1, \(what)")
        XCTAssertTrue(y3.data == y3b.data, "y, two runs with 3 threads, \(what)")
        XCTAssertTrue(gx3.data == gx3b.data, "gx, two runs with 3 threads, \(what)")
        XCTAssertTrue(gw3.data == gw3b.data, "gw, two runs with 3 threads, \(what)")
      }
    }
  }

  /// Batches laid out a few images at a time (as large images are) give the
  /// same outputs and gradients as one layout, on the phase paths (same
  /// convolutions lay out no whole planes: see the test above).
  func testImageChunksEqualOneLayout() throws {
    try forEachVariant {
      var rng = RandomGenerator(seed: 8)
      let x = Tensor.randn([5, 6, 16, 20], using: &rng)
      let cases: [(String, Tensor, (Tensor, Tensor) throws -> Tensor)] = [
        ("strided", Tensor.randn([9, 6, 4, 4], using: &rng), { try Tensor.conv2d($0, $1, nil, stride: 2, padding: 1) }),
        ("transposed", Tensor.randn([6, 3, 4, 4], using: &rng), { try Tensor.convTranspose2d($0, $1, nil, stride: 2, padding: 1) }),
      ]
      for (name, w, f) in cases {
        func run(budget: Int) throws -> (Tensor, Tensor, Tensor) {
          convolutionPlaneBudget = budget
          defer { convolutionPlaneBudget = 16 << 20 }
          return try withPolicy(.planes) { try gradients(x, w, f) }
        }
        // A budget of 4000 floats fits one or two images at a time: 3 to 5 chunks.
        let (y1, gx1, gw1) = try run(budget: 4000), (y2, gx2, gw2) = try run(budget: 16 << 20)
        assertClose(y1, y2, atol: 1e-5, "\(name) y")
        assertClose(gx1, gx2, atol: 1e-5, "\(name) gx")
        assertClose(gw1, gw2, atol: 1e-4, rtol: 1e-5, "\(name) gw")
      }
    }
  }

  /// The position-major kernels (small images, channels in blocks of 64)
  /// equal im2col, forward and both gradients, including a batch whose
  /// pixel count is not a multiple of the six-position block.
  func testPositionsAgreeWithIm2col() throws {
    try forEachVariant {
      var rng = RandomGenerator(seed: 10)
      for (shape, out, k) in [([3, 64, 8, 8], 128, 3), ([2, 128, 5, 7], 64, 3), ([2, 64, 4, 4], 64, 5),
                              ([1, 64, 3, 3], 64, 1)] {
        let x = Tensor.randn(shape, using: &rng), w = Tensor.randn([out, shape[1], k, k], using: &rng)
        let b = Tensor.randn([out], using: &rng)
        try assertAgreesWithIm2col(.positions, x, w, "\(shape) → \(out), k \(k)") { try Tensor.conv2d($0, $1, b, padding: k / 2) }
      }
    }
  }

  /// The position-major 4×4 stride-2 convolutions and transposed
  /// convolutions (small grids, channels in blocks of 64) equal im2col,
  /// forward and both gradients: the U-Net's shapes at 16², 8² and 4², a
  /// non-square grid, a batch whose pixel count is not a multiple of six,
  /// and images laid out a few at a time.
  func testStridedPositionsAgreeWithIm2col() throws {
    try forEachVariant {
      var rng = RandomGenerator(seed: 14)
      for (transposed, shape, out) in [(false, [8, 64, 16, 16], 128), (false, [3, 128, 8, 8], 128), (false, [1, 64, 6, 10], 64),
                                       (true, [8, 128, 4, 4], 128), (true, [3, 128, 8, 8], 64), (true, [1, 64, 3, 5], 64)] {
        let x = Tensor.randn(shape, using: &rng)
        let w = Tensor.randn(transposed ? [shape[1], out, 4, 4] : [out, shape[1], 4, 4], using: &rng)
        let b = Tensor.randn([out], using: &rng)
        let what = "\(transposed ? "transposed " : "")\(shape) → \(out)"
        XCTAssertEqual(withPolicy(.positions) {
          Tensor.convolutionImplementation(input: shape, weight: w.shape, stride: 2, padding: 1, transposed: transposed)
        }, "positions", what)
        let f: (Tensor, Tensor) throws -> Tensor = {
          transposed ? try Tensor.convTranspose2d($0, $1, b, stride: 2, padding: 1)
                     : try Tensor.conv2d($0, $1, b, stride: 2, padding: 1)
        }
        try assertAgreesWithIm2col(.positions, x, w, what, f)
        convolutionPlaneBudget = 2000  // one image at a time
        defer { convolutionPlaneBudget = 16 << 20 }
        try assertAgreesWithIm2col(.positions, x, w, what + ", one image at a time", f)
      }
    }
  }

  func testFiniteDifferencesThroughStridedPositions() throws {
    try forEachVariant {
      var rng = RandomGenerator(seed: 15)
      let x = Tensor.randn([1, 64, 4, 4], using: &rng), w = Tensor.randn([64, 64, 4, 4], using: &rng)
      let xt = Tensor.randn([1, 64, 2, 2], using: &rng)
      try withPolicy(.positions) {
        try assertGradientMatchesFiniteDifferences(x) { try weighted(try Tensor.conv2d($0, w, nil, stride: 2, padding: 1)) }
        try assertGradientMatchesFiniteDifferences(w) { try weighted(try Tensor.conv2d(x, $0, nil, stride: 2, padding: 1)) }
        try assertGradientMatchesFiniteDifferences(xt) { try weighted(try Tensor.convTranspose2d($0, w, nil, stride: 2, padding: 1)) }
        try assertGradientMatchesFiniteDifferences(w) { try weighted(try Tensor.convTranspose2d(xt, $0, nil, stride: 2, padding: 1)) }
      }
    }
  }

  func testFiniteDifferencesThroughPositions() throws {
    try forEachVariant {
      var rng = RandomGenerator(seed: 12)
      let x = Tensor.randn([2, 64, 3, 4], using: &rng), w = Tensor.randn([64, 64, 3, 3], using: &rng)
      let b = Tensor.randn([64], using: &rng)
      try withPolicy(.positions) {
        try assertGradientMatchesFiniteDifferences(x) { try weighted(try Tensor.conv2d($0, w, b, padding: 1)) }
        try assertGradientMatchesFiniteDifferences(w) { try weighted(try Tensor.conv2d(x, $0, b, padding: 1)) }
        try assertGradientMatchesFiniteDifferences(b) { try weighted(try Tensor.conv2d(x, w, $0, padding: 1)) }
      }
    }
  }

  /// The automatic policy's choice for the U-Net's layers (batch 8, 64²,
  /// base 16), as docs/performance.md describes it, with the AVX-512 (or
  /// NEON) kernels; the position-major kernels or im2col alone when asked;
  /// and where the strided convolutions go by Winograd instead: with the
  /// AVX2 kernels or none.
  func testAutomaticChoiceForTheUNetLayers() throws {
    func path(_ x: [Int], _ w: [Int], stride: Int = 1, transposed: Bool = false) -> String {
      Tensor.convolutionImplementation(input: x, weight: w, stride: stride, padding: 1, transposed: transposed)
    }
    let saved = kernelVariant
    defer { kernelVariant = saved }
    kernelVariant = nil
    XCTAssertEqual(path([8, 64, 16, 16], [128, 64, 4, 4], stride: 2), "winograd")
    XCTAssertEqual(path([8, 128, 8, 8], [128, 64, 4, 4], stride: 2, transposed: true), "winograd")
    XCTAssertEqual(path([8, 16, 64, 64], [32, 16, 4, 4], stride: 2), "im2col")
    if KernelVariant.avx2.isAvailable {
      kernelVariant = .avx2
      // From 256 coarse tiles (2×2 pixels); below, where the channels come
      // in blocks of 64, the position-major kernels.
      XCTAssertEqual(path([4, 128, 32, 32], [256, 128, 4, 4], stride: 2), "winograd")
      XCTAssertEqual(path([4, 256, 16, 16], [256, 128, 4, 4], stride: 2, transposed: true), "winograd")
      XCTAssertEqual(path([8, 64, 16, 16], [128, 64, 4, 4], stride: 2), "positions")
      XCTAssertEqual(path([8, 128, 8, 8], [128, 64, 4, 4], stride: 2, transposed: true), "positions")
      XCTAssertEqual(path([8, 96, 16, 16], [96, 96, 4, 4], stride: 2), "winograd")
      XCTAssertEqual(path([8, 16, 64, 64], [32, 16, 4, 4], stride: 2), "phases")
      XCTAssertEqual(path([8, 16, 64, 64], [16, 16, 3, 3]), "winograd4")
      XCTAssertEqual(path([8, 8, 64, 64], [16, 8, 3, 3]), "planes")
    }
    guard let wide = [KernelVariant.avx512, .neon].first(where: { $0.isAvailable }) else {
      throw XCTSkip("the rest holds for the AVX-512 and NEON kernels, which this processor does not run")
    }
    kernelVariant = wide
    // 16 channels on each side: F(4×4, 3×3) from 2048 pixels; fewer
    // channels (the first and last layers) or pixels: the plane kernels.
    XCTAssertEqual(path([8, 16, 64, 64], [16, 16, 3, 3]), "winograd4")
    XCTAssertEqual(path([8, 32, 64, 64], [16, 32, 3, 3]), "winograd4")
    XCTAssertEqual(path([8, 16, 64, 64], [3, 16, 3, 3]), "planes")
    XCTAssertEqual(path([8, 3, 64, 64], [16, 3, 3, 3]), "planes")
    XCTAssertEqual(path([1, 16, 32, 32], [16, 16, 3, 3]), "planes")
    XCTAssertEqual(path([8, 32, 32, 32], [32, 32, 3, 3]), "winograd4")
    // Winograd: F(4×4, 3×3) from 2048 pixels in the batch, and from 512
    // while c·o ≤ 128 · pixels; F(2×2, 3×3) otherwise.
    XCTAssertEqual(path([8, 64, 16, 16], [64, 64, 3, 3]), "winograd4")
    XCTAssertEqual(path([12, 64, 64, 64], [64, 64, 3, 3]), "winograd4")
    XCTAssertEqual(path([12, 128, 64, 64], [64, 128, 3, 3]), "winograd4")
    XCTAssertEqual(path([8, 64, 32, 32], [32, 64, 3, 3]), "winograd4")
    XCTAssertEqual(path([8, 256, 8, 8], [128, 256, 3, 3]), "winograd4")
    XCTAssertEqual(path([8, 128, 8, 8], [128, 128, 3, 3]), "winograd4")
    XCTAssertEqual(path([4, 512, 16, 16], [256, 512, 3, 3]), "winograd4")
    XCTAssertEqual(path([4, 256, 8, 8], [256, 256, 3, 3]), "winograd")
    XCTAssertEqual(path([1, 512, 32, 32], [512, 512, 3, 3]), "winograd")
    XCTAssertEqual(path([1, 1024, 32, 32], [512, 1024, 3, 3]), "winograd")
    XCTAssertEqual(path([8, 128, 4, 4], [128, 128, 3, 3]), "winograd")
    withPolicy(.positions) { XCTAssertEqual(path([8, 64, 16, 16], [64, 64, 3, 3]), "positions") }
    XCTAssertEqual(path([8, 16, 64, 64], [32, 16, 4, 4], stride: 2), "phases")
    XCTAssertEqual(path([8, 64, 16, 16], [128, 64, 4, 4], stride: 2), "positions")
    XCTAssertEqual(path([8, 128, 8, 8], [128, 128, 4, 4], stride: 2), "positions")
    XCTAssertEqual(path([4, 128, 8, 8], [128, 128, 4, 4], stride: 2), "im2col")
    // Coarse grids up to 16² per image take the position-major kernels, larger ones phases.
    XCTAssertEqual(path([4, 128, 32, 32], [256, 128, 4, 4], stride: 2), "positions")
    XCTAssertEqual(path([1, 512, 32, 32], [512, 512, 4, 4], stride: 2), "positions")
    XCTAssertEqual(path([1, 512, 16, 16], [512, 512, 4, 4], stride: 2, transposed: true), "positions")
    XCTAssertEqual(path([1, 128, 64, 64], [256, 128, 4, 4], stride: 2), "phases")
    XCTAssertEqual(path([8, 32, 32, 32], [32, 16, 4, 4], stride: 2, transposed: true), "phases")
    XCTAssertEqual(path([8, 128, 8, 8], [128, 64, 4, 4], stride: 2, transposed: true), "positions")
    XCTAssertEqual(path([8, 128, 4, 4], [128, 128, 4, 4], stride: 2, transposed: true), "positions")
    XCTAssertEqual(path([4, 128, 4, 4], [128, 128, 4, 4], stride: 2, transposed: true), "im2col")
    withPolicy(.im2col) { XCTAssertEqual(path([8, 16, 64, 64], [16, 16, 3, 3]), "im2col") }
  }
  /// Every convolution of the U-Net (widths base·min(2^i, 8), five levels)
  /// at the speed issue's three sizes runs on riad's own paths, never
  /// im2col, with each kernel variant this processor runs.
  func testNoUNetLayerOnIm2col() throws {
    func path(_ x: [Int], _ w: [Int], stride: Int = 1, transposed: Bool = false) -> String {
      Tensor.convolutionImplementation(input: x, weight: w, stride: stride, padding: 1, transposed: transposed)
    }
    let saved = kernelVariant
    defer { kernelVariant = saved }
    let variants = [KernelVariant.avx512, .avx2, .neon].filter { $0.isAvailable }
    guard !variants.isEmpty else { throw XCTSkip("this processor runs none of riad's kernel variants") }
    for variant in variants {
      kernelVariant = variant
      for (size, base, n) in [(64, 16, 8), (128, 32, 4), (256, 64, 1)] {
        let w = (0..<5).map { base * min(1 << $0, 8) }
        var layers: [(String, String)] = [("down1.conv1", path([n, 3, size, size], [w[0], 3, 3, 3])),
                                          ("down1.conv2", path([n, w[0], size, size], [w[0], w[0], 3, 3])),
                                          ("final", path([n, w[0], size, size], [3, w[0], 3, 3]))]
        for i in 1..<5 {
          let side = size >> i
          layers.append(("down\(i + 1).conv1", path([n, w[i - 1], 2 * side, 2 * side], [w[i], w[i - 1], 4, 4], stride: 2)))
          layers.append(("down\(i + 1).conv2", path([n, w[i], side, side], [w[i], w[i], 3, 3])))
          layers.append(("up.upconv to \(w[i - 1])", path([n, w[i], side, side], [w[i], w[i - 1], 4, 4], stride: 2, transposed: true)))
          layers.append(("up.conv1 at \(2 * side)²", path([n, 2 * w[i - 1], 2 * side, 2 * side], [w[i - 1], 2 * w[i - 1], 3, 3])))
          layers.append(("up.conv2 at \(2 * side)²", path([n, w[i - 1], 2 * side, 2 * side], [w[i - 1], w[i - 1], 3, 3])))
        }
        for (name, chosen) in layers {
          XCTAssertNotEqual(chosen, "im2col", "\(variant) \(size)/\(base)/\(n) \(name)")
        }
      }
    }
  }
}
