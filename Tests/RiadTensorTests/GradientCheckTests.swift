import RiadTensor
import RiadTestSupport
import XCTest

/// Every differentiable op against central finite differences. Each loss is
/// `sum(op(x) * r)` with a fixed random `r`, so every output element matters.
final class GradientCheckTests: RiadTestCase {
  var rng = RandomGenerator(seed: 7)

  func randn(_ shape: [Int]) -> Tensor { Tensor.randn(shape, using: &rng) }

  func testElementwise() throws {
    let x = randn([3, 4])
    let pos = x.map { abs($0) + 0.5 }
    let other = randn([4])
    try assertGradientMatchesFiniteDifferences(x) { try weighted(try $0 * other + $0) }
    try assertGradientMatchesFiniteDifferences(x) { try weighted(try $0 - other) }
    try assertGradientMatchesFiniteDifferences(pos) { try weighted(try other / $0) }
    try assertGradientMatchesFiniteDifferences(pos) { try weighted(try Tensor.binary($0, other.map { $0 + 2 }, .pow)) }
    try assertGradientMatchesFiniteDifferences(x) { try weighted(try Tensor.binary($0, other, .maximum)) }
    for op: UnaryOp in [.neg, .exp, .tanh, .sigmoid, .square] {
      try assertGradientMatchesFiniteDifferences(x) { try weighted($0.unary(op)) }
    }
    for op: UnaryOp in [.log, .sqrt] {
      try assertGradientMatchesFiniteDifferences(pos) { try weighted($0.unary(op)) }
    }
    try assertGradientMatchesFiniteDifferences(x) { try weighted($0.clamp(-0.5, 0.5)) }
    try assertGradientMatchesFiniteDifferences(x) { try weighted($0.relu()) }
    try assertGradientMatchesFiniteDifferences(x) { try weighted($0.unary(.abs)) }
  }

  func testBroadcastGradientReducesToOperandShape() throws {
    let col = randn([3, 1]), row = randn([1, 4])
    try assertGradientMatchesFiniteDifferences(col) { try weighted(try $0 * row) }
    try assertGradientMatchesFiniteDifferences(row) { try weighted(try col + $0) }
  }

  func testReductions() throws {
    let x = randn([2, 3, 4])
    try assertGradientMatchesFiniteDifferences(x) { try $0.sum() }
    try assertGradientMatchesFiniteDifferences(x) { try weighted(try $0.mean(dim: 1)) }
    try assertGradientMatchesFiniteDifferences(x) { try weighted(try $0.sum(dim: -1, keepDim: true)) }
    try assertGradientMatchesFiniteDifferences(x) { try weighted(try $0.max(dim: 2)) }
    try assertGradientMatchesFiniteDifferences(x) { try $0.min() }
  }

  func testShapeOps() throws {
    let x = randn([2, 3, 4])
    try assertGradientMatchesFiniteDifferences(x) { try weighted(try $0.reshaped([4, -1])) }
    try assertGradientMatchesFiniteDifferences(x) { try weighted(try $0.permuted([2, 0, 1])) }
    try assertGradientMatchesFiniteDifferences(x) {
      try weighted(try $0.indexed([.at(1), .slice(start: nil, stop: nil, step: -2), .slice(start: 1, stop: 3, step: 1)]))
    }
    let y = randn([2, 1, 4])
    try assertGradientMatchesFiniteDifferences(x) { try weighted(try Tensor.cat([$0, y], dim: 1)) }
    try assertGradientMatchesFiniteDifferences(x) { try weighted(try Tensor.stack([$0, $0], dim: 1)) }
    let a = randn([3, 4]), m = randn([4, 5])
    try assertGradientMatchesFiniteDifferences(a) { try weighted(try Tensor.matmul($0, m)) }
    try assertGradientMatchesFiniteDifferences(m) { try weighted(try Tensor.matmul(a, $0)) }
  }

  func testConvolutions() throws {
    let x = randn([2, 3, 7, 6]), w = randn([4, 3, 3, 3]), b = randn([4])
    try assertGradientMatchesFiniteDifferences(x) { try weighted(try Tensor.conv2d($0, w, b, stride: 2, padding: 1)) }
    try assertGradientMatchesFiniteDifferences(w) { try weighted(try Tensor.conv2d(x, $0, b, stride: 1, padding: 2)) }
    try assertGradientMatchesFiniteDifferences(b) { try weighted(try Tensor.conv2d(x, w, $0)) }
    let xt = randn([2, 4, 3, 5]), wt = randn([4, 2, 4, 3]), bt = randn([2])
    try assertGradientMatchesFiniteDifferences(xt) { try weighted(try Tensor.convTranspose2d($0, wt, bt, stride: 2, padding: 1)) }
    try assertGradientMatchesFiniteDifferences(wt) { try weighted(try Tensor.convTranspose2d(xt, $0, bt, stride: 3)) }
    try assertGradientMatchesFiniteDifferences(bt) { try weighted(try Tensor.convTranspose2d(xt, wt, $0, stride: 2)) }
  }

  func testPoolingAndResampling() throws {
    let x = randn([1, 2, 6, 7])
    try assertGradientMatchesFiniteDifferences(x) { try weighted(try $0.avgPool2d(3, stride: 2, padding: 1)) }
    try assertGradientMatchesFiniteDifferences(x) { try weighted(try $0.maxPool2d(2)) }
    try assertGradientMatchesFiniteDifferences(x) { try weighted(try $0.upsample(to: (11, 5))) }
    try assertGradientMatchesFiniteDifferences(x) { try weighted(try $0.upsample(to: (12, 14), mode: "nearest")) }
    try assertGradientMatchesFiniteDifferences(x) { try weighted(try $0.meanFilter(5)) }
    // Taps that are not symmetric: the gradient needs them reversed. Wide
    // enough for the eight-lane passes, and smaller than the kernel.
    let wide = randn([1, 2, 5, 19]), taps: [Float] = [0.1, -0.4, 0.3, 0.9, 0.2]
    try assertGradientMatchesFiniteDifferences(wide) { try weighted(try $0.separableFilter(taps)) }
    try assertGradientMatchesFiniteDifferences(randn([1, 1, 2, 3])) { try weighted(try $0.separableFilter(taps)) }
  }

  func testBatchNorm() throws {
    let x = randn([3, 2, 3, 3]), w = randn([2]), b = randn([2])
    for training in [true, false] {
      let rm = Tensor.zeros([2]), rv = Tensor.ones([2])
      try assertGradientMatchesFiniteDifferences(x) {
        try weighted(try Tensor.batchNorm($0, weight: w, bias: b, runningMean: rm.copy(), runningVar: rv.copy(), training: training))
      }
      try assertGradientMatchesFiniteDifferences(w) {
        try weighted(try Tensor.batchNorm(x, weight: $0, bias: b, runningMean: rm.copy(), runningVar: rv.copy(), training: training))
      }
    }
  }

  /// Batch norm with its ReLU fused equals the two ops composed, values and
  /// all three gradients, in both modes; 5×7 rows exercise the scalar tails
  /// of the vector loops, 16×16 rows the vectors.
  func testBatchNormWithReLUEqualsComposition() throws {
    for shape in [[4, 3, 5, 7], [2, 4, 16, 16]] {
      let x = randn(shape), w = randn([shape[1]]), b = randn([shape[1]]), r = randn(shape)
      for training in [true, false] {
        func run(fused: Bool) throws -> [Tensor] {
          let px = x.copy().asParameter(), pw = w.copy().asParameter(), pb = b.copy().asParameter()
          let rm = Tensor.zeros([shape[1]]), rv = Tensor.ones([shape[1]])
          let y = fused
            ? try Tensor.batchNorm(px, weight: pw, bias: pb, runningMean: rm, runningVar: rv, training: training, relu: true)
            : try Tensor.batchNorm(px, weight: pw, bias: pb, runningMean: rm, runningVar: rv, training: training).relu()
          try (y * r).sum().backward()
          return [y, px.grad!, pw.grad!, pb.grad!, rm, rv]
        }
        let fused = try run(fused: true), composed = try run(fused: false)
        for (i, name) in ["y", "gx", "gweight", "gbias", "running_mean", "running_var"].enumerated() {
          assertClose(fused[i], composed[i], atol: 1e-5, rtol: 1e-5, "\(name), \(shape), training \(training)")
        }
        XCTAssertGreaterThan(fused[0].data.filter { $0 == 0 }.count, 0, "some outputs are clipped")
      }
    }
  }
}
