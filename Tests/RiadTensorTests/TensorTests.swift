import RiadTensor
import RiadTestSupport
import XCTest

/// Hand-worked cases for creation, indexing, broadcasting and errors.
final class TensorTests: RiadTestCase {
  func t(_ shape: [Int], _ data: [Float]) -> Tensor { Tensor(shape: shape, data: data) }

  func testBroadcastArithmetic() throws {
    let a = t([2, 1], [1, 2]), b = t([3], [10, 20, 30])
    let y = try a + b
    XCTAssertEqual(y.shape, [2, 3])
    XCTAssertEqual(y.data, [11, 21, 31, 12, 22, 32])
    XCTAssertEqual(try Tensor.binary(b, t([], [20]), .ge).data, [0, 1, 1])
    XCTAssertThrowsError(try t([2], [1, 2]) + b) { error in
      XCTAssertEqual("\(error)", "'+': shapes [2] and [3] do not broadcast")
    }
  }

  func testSlicingFollowsPython() throws {
    let x = try Tensor.arange(24).reshaped([2, 3, 4])
    XCTAssertEqual(try x.indexed([.at(-1), .at(0)]).data, [12, 13, 14, 15])
    XCTAssertEqual(try x.indexed([.at(0), .all, .slice(start: nil, stop: nil, step: -3)]).data, [3, 0, 7, 4, 11, 8])
    XCTAssertEqual(try x.indexed([.all, .slice(start: 1, stop: -1, step: 1), .at(2)]).shape, [2, 1])
    XCTAssertThrowsError(try x.indexed([.at(2)]))
    XCTAssertEqual(try x.indexed([.slice(start: 5, stop: 9, step: 1)]).shape, [0, 3, 4])
  }

  func testIndexAssignmentWritesInPlace() throws {
    let img = Tensor.ones([1, 4, 4])
    try img.assign([.all, .slice(start: 1, stop: 3, step: 1), .slice(start: 1, stop: 3, step: 1)], Tensor(scalar: 0))
    XCTAssertEqual(try img.sum().item(), 12)
    XCTAssertEqual(img.data[5], 0)
    XCTAssertThrowsError(try img.assign([.at(0)], Tensor.zeros([3])))
  }

  func testReductionsAndPermute() throws {
    let x = t([2, 3], [1, 5, 3, 4, 2, 6])
    XCTAssertEqual(try x.sum(dim: 0).data, [5, 7, 9])
    XCTAssertEqual(try x.mean(dim: 1).data, [3, 4])
    XCTAssertEqual(try x.max().item(), 6)
    XCTAssertEqual(try x.argmax(dim: 1).data, [1, 2])
    XCTAssertEqual(try x.permuted([1, 0]).data, [1, 4, 5, 2, 3, 6])
    XCTAssertEqual(try Tensor.cat([x, x], dim: 1).shape, [2, 6])
    XCTAssertEqual(try Tensor.stack([x, x], dim: 2).data.prefix(4), [1, 1, 5, 5])
  }

  /// The two one-dimensional passes against the K×K definition: images
  /// narrower than eight (no vector path), wider (vectors and a scalar
  /// tail), smaller than the kernel, and taps that are not symmetric.
  func testSeparableFilterAgreesWithTheDefinition() throws {
    var rng = RandomGenerator(seed: 3)
    let cases: [([Int], [Float])] = [
      ([2, 3, 17, 21], [0.05, 0.1, 0.2, 0.3, 0.2, 0.1, 0.04, 0.01, 0.3, -0.2, 0.15]),
      ([1, 2, 8, 16], [0.25, 0.5, -0.25]),
      ([1, 1, 3, 5], [1, 2, 3, 4, 5, 6, 7]),
      ([1, 1, 9, 9], [0.5]),
      ([3, 1, 1, 12], [-1, 0.5, 2]),
    ]
    for (shape, taps) in cases {
      let x = Tensor.randn(shape, using: &rng)
      let expected = RefArray(x).filtered(taps.map(Double.init))
      if let problem = referenceMismatch(try x.separableFilter(taps), expected, atol: 1e-5, rtol: 1e-5) {
        XCTFail("\(shape), \(taps.count) taps: \(problem)")
      }
    }
    XCTAssertThrowsError(try Tensor.zeros([1, 1, 4, 4]).separableFilter([1, 1])) { error in
      XCTAssertEqual("\(error)", "separable_filter: needs an odd number of taps, got 2")
    }
  }

  func testMatmulAgainstHandWorkedProduct() throws {
    let a = t([2, 3], [1, 2, 3, 4, 5, 6]), b = t([3, 2], [7, 8, 9, 10, 11, 12])
    XCTAssertEqual(try Tensor.matmul(a, b).data, [58, 64, 139, 154])
    XCTAssertEqual(try Tensor.matmul(a, t([3], [1, 0, 1])).data, [4, 10])
    XCTAssertThrowsError(try Tensor.matmul(a, a))
  }

  func testConvolutionShapeError() {
    XCTAssertThrowsError(try Tensor.conv2d(Tensor.zeros([1, 3, 8, 8]), Tensor.zeros([2, 4, 3, 3]))) { error in
      XCTAssertEqual("\(error)", "conv2d: input has 3 channels, weight expects 4")
    }
  }

  func testGeneratorIsDeterministicAndUniform() {
    var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42)
    let xs = (0..<10_000).map { _ in a.nextUniform() }
    XCTAssertEqual(xs, (0..<10_000).map { _ in b.nextUniform() })
    let mean = xs.reduce(0, +) / Float(xs.count)
    XCTAssertEqual(mean, 0.5, accuracy: 0.01)
    XCTAssertTrue(xs.allSatisfy { $0 >= 0 && $0 < 1 })
    var c = RandomGenerator(seed: 1)
    let normals = (0..<20_000).map { _ in c.nextNormal() }
    let m = normals.reduce(0, +) / 20_000
    let v = normals.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 20_000
    XCTAssertEqual(m, 0, accuracy: 0.03)
    XCTAssertEqual(v, 1, accuracy: 0.05)
    XCTAssertEqual(Set(c.permutation(50)), Set(0..<50))
  }

  func testNoGradAndDetach() throws {
    let p = Tensor.ones([3]).asParameter()
    let y = try withNoGrad { try (p * 2).sum() }
    XCTAssertFalse(y.requiresGrad)
    let z = try (p.detached() * p).sum()
    try z.backward()
    XCTAssertEqual(p.grad!.data, [1, 1, 1])
    try z.backward()
    XCTAssertEqual(p.grad!.data, [2, 2, 2], "gradients accumulate")
  }
}

/// A recorded graph must be freed once nothing refers to it.
final class GraphLifetimeTests: RiadTestCase {
  func testGraphsAreFreedAfterUse() throws {
    weak var leaked: Tensor?
    do {
      let p = Tensor.ones([4]).asParameter()
      let y = (try p / (p + 1)).sigmoid().exp().sqrt()
      let z = try Tensor.binary(y, Tensor(scalar: 2), .pow)
      leaked = y
      try z.sum().backward()
    }
    XCTAssertNil(leaked, "an op's output that its own derivative rule captured is never freed")
  }
}
