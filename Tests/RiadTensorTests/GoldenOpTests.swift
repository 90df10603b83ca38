import RiadTensor
import RiadTestSupport
import XCTest

/// Forward values and gradients of the neural ops against PyTorch.
final class GoldenOpTests: RiadTestCase {
  /// Runs `y = f(inputs)`, back-propagates `sum(y * gy)` and compares.
  func check(_ file: String, params: [String], grads: [String: String],
             _ f: ([String: Tensor]) throws -> Tensor) throws {
    let g = try Golden(file)
    var inputs: [String: Tensor] = [:]
    for key in g.inputs.keys where (g.inputs[key] as? [String: Any])?["shape"] != nil {
      inputs[key] = g.input(key)
    }
    for p in params { inputs[p]!.asParameter() }
    let y = try f(inputs)
    assertClose(y, g.output("y"), atol: g.tolerance, "\(file) y")
    try (y * inputs["gy"]!).sum().backward()
    for (param, out) in grads {
      assertClose(inputs[param]!.grad!, g.output(out), atol: g.tolerance, "\(file) \(out)")
    }
  }

  func testConv2d() throws {
    for name in ["conv2d_k3_s1_p0", "conv2d_k3_s1_p1", "conv2d_k4_s2_p1"] {
      let g = try Golden(name)
      let s = Int(g.inputs["stride"] as! Double), p = Int(g.inputs["padding"] as! Double)
      try check(name, params: ["x", "w", "b"], grads: ["x": "gx", "w": "gw", "b": "gb"]) {
        try Tensor.conv2d($0["x"]!, $0["w"]!, $0["b"]!, stride: s, padding: p)
      }
    }
  }

  func testConvTranspose2d() throws {
    try check("conv_transpose2d_k4_s2_p1", params: ["x", "w", "b"], grads: ["x": "gx", "w": "gw", "b": "gb"]) {
      try Tensor.convTranspose2d($0["x"]!, $0["w"]!, $0["b"]!, stride: 2, padding: 1)
    }
  }

  func testPooling() throws {
    try check("avg_pool2d_k2", params: ["x"], grads: ["x": "gx"]) { try $0["x"]!.avgPool2d(2) }
    try check("max_pool2d_k2", params: ["x"], grads: ["x": "gx"]) { try $0["x"]!.maxPool2d(2) }
  }

  func testBilinearUpsample() throws {
    try check("upsample_bilinear", params: ["x"], grads: ["x": "gx"]) { try $0["x"]!.upsample(to: (9, 13)) }
  }

  func testMeanFilter() throws {
    try check("mean_filter_7", params: ["x"], grads: ["x": "gx"]) { try $0["x"]!.meanFilter(7) }
  }

  func testBatchNormTraining() throws {
    let g = try Golden("batchnorm2d_train")
    let rm = Tensor.zeros([4]), rv = Tensor.ones([4])
    try check("batchnorm2d_train", params: ["x", "weight", "bias"],
              grads: ["x": "gx", "weight": "gweight", "bias": "gbias"]) {
      try Tensor.batchNorm($0["x"]!, weight: $0["weight"]!, bias: $0["bias"]!,
                           runningMean: rm, runningVar: rv, training: true)
    }
    assertClose(rm, g.output("running_mean"), atol: g.tolerance, "running_mean")
    assertClose(rv, g.output("running_var"), atol: g.tolerance, "running_var")
  }
}

/// Large batches are processed in chunks of images; the result must not
/// depend on where the chunks fall.
final class ChunkingTests: RiadTestCase {
  func testBatchedConvolutionsEqualPerImageOnes() throws {
    var rng = RandomGenerator(seed: 4)
    // 144 rows × 96² positions per image: more than one chunk's worth, so 3 chunks.
    let x = Tensor.randn([3, 16, 96, 96], using: &rng)
    let w = Tensor.randn([8, 16, 3, 3], using: &rng).asParameter()
    let wt = Tensor.randn([16, 4, 4, 4], using: &rng).asParameter()
    let y = try Tensor.conv2d(x, w, nil, padding: 1)
    let yt = try Tensor.convTranspose2d(x, wt, nil, stride: 2, padding: 1)
    try y.sum().backward()
    try yt.sum().backward()
    let gw = w.grad!, gwt = wt.grad!
    var sumW = Tensor.zeros(w.shape), sumWT = Tensor.zeros(wt.shape)
    for i in 0..<3 {
      w.grad = nil; wt.grad = nil
      let xi = try x.indexed([.slice(start: i, stop: i + 1, step: 1)])
      let yi = try Tensor.conv2d(xi, w, nil, padding: 1), yti = try Tensor.convTranspose2d(xi, wt, nil, stride: 2, padding: 1)
      assertClose(yi, try y.indexed([.slice(start: i, stop: i + 1, step: 1)]), atol: 1e-4, "conv image \(i)")
      assertClose(yti, try yt.indexed([.slice(start: i, stop: i + 1, step: 1)]), atol: 1e-4, "transposed image \(i)")
      try yi.sum().backward(); try yti.sum().backward()
      sumW = try sumW + w.grad!; sumWT = try sumWT + wt.grad!
    }
    assertClose(gw, sumW, atol: 1e-1, rtol: 1e-4, "weight gradient summed over chunks")
    assertClose(gwt, sumWT, atol: 1e-1, rtol: 1e-4, "transposed weight gradient summed over chunks")
  }
}
