import RiadLang
import RiadTensor

extension Session {
  /// A generator for one call: seeded when `seed:` is given, else the global one.
  func withGenerator<T>(_ seed: UInt64?, _ body: (inout RandomGenerator) throws -> T) rethrows -> T {
    if let seed {
      var g = RandomGenerator(seed: seed)
      return try body(&g)
    }
    return try body(&globalGenerator)
  }

  func tensorBuiltins() -> [Builtin] {
    let cat = "Tensors"
    func t(_ v: Tensor) -> Value { .tensor(v) }
    let shapeParam = P("shape", .shape, "a number or a list of extents")
    var out: [Builtin] = [
      Builtin("tensor", category: cat, params: [P("list", .tensor, "a number or (nested) lists of numbers")],
              summary: "A tensor from nested lists; the nesting gives the shape.", example: "tensor([[1, 2], [3, 4]])") { a in
        t(try a.tensor("list").copy())
      },
      Builtin("zeros", category: cat, params: [shapeParam], summary: "A tensor of zeros.", example: "zeros([2, 3])") { a in t(Tensor.zeros(try a.shape("shape"))) },
      Builtin("ones", category: cat, params: [shapeParam], summary: "A tensor of ones.", example: "ones(4)") { a in t(Tensor.ones(try a.shape("shape"))) },
      Builtin("full", category: cat, params: [shapeParam, P("v", .number, "the value")], summary: "A tensor filled with v.",
              example: "full([2, 2], 0.5)") { a in t(Tensor.full(try a.shape("shape"), try a.float("v"))) },
      Builtin("rand", category: cat, params: [shapeParam, P("seed", .integer(min: 0), "a seed for this draw; nil uses the global generator", nilDefault)],
              summary: "Uniform random values in [0, 1).",
              discussion: "Draws come from xoshiro256** seeded by SplitMix64; each float keeps 24 random bits.",
              example: "rand([2, 3], seed: 1)") { [unowned self] a in
        let s = try a.shape("shape")
        let seed = try a.seed()
        return t(self.withGenerator(seed) { Tensor.rand(s, using: &$0) })
      },
      Builtin("randn", category: cat, params: [shapeParam, P("seed", .integer(min: 0), "a seed for this draw; nil uses the global generator", nilDefault)],
              summary: "Standard normal random values (Box–Muller).", example: "randn([3], seed: 7)") { [unowned self] a in
        let s = try a.shape("shape")
        let seed = try a.seed()
        return t(self.withGenerator(seed) { Tensor.randn(s, using: &$0) })
      },
      Builtin("arange", category: cat, params: [P("n", .integer(min: 0), "how many")], summary: "The tensor [0, 1, …, n-1].",
              example: "arange(5)") { a in t(Tensor.arange(try a.int("n"))) },
      Builtin("shape", category: cat, params: [P("t", .tensor, "a tensor")], summary: "The extents of a tensor as a list.",
              example: "shape(zeros([2, 3, 4]))") { a in .list(try a.tensor("t").shape.map { .number(Double($0)) }) },
      Builtin("reshape", category: cat, params: [P("t", .tensor, "a tensor"), P("shape", .extents, "the new extents; one may be -1")],
              summary: "The same values in a new shape.", example: "reshape(arange(6), [2, -1])") { a in
        t(try a.tensor("t").reshaped(try a.ints("shape")))
      },
      Builtin("permute", category: cat, params: [P("t", .tensor, "a tensor"), P("order", .integers(min: 0), "the old dimension of each new one")],
              summary: "Reorders dimensions: result dimension i is the input's order[i].", example: "shape(permute(zeros([2, 3, 4]), [2, 0, 1]))") { a in
        t(try a.tensor("t").permuted(try a.ints("order")))
      },
      Builtin("cat", category: cat, params: [P("ts", .tensors, "tensors"), P("dim", .integer, "the dimension to join along", num(0))],
              summary: "Joins tensors along an existing dimension.", example: "cat([ones([1, 2]), zeros([1, 2])], dim: 0)") { a in
        t(try Tensor.cat(try a.tensors("ts"), dim: try a.int("dim")))
      },
      Builtin("stack", category: cat, params: [P("ts", .tensors, "same-shape tensors"), P("dim", .integer, "where the new dimension goes", num(0))],
              summary: "Joins same-shape tensors along a new dimension.", example: "shape(stack([zeros([3]), ones([3])]))") { a in
        t(try Tensor.stack(try a.tensors("ts"), dim: try a.int("dim")))
      },
    ]
    for (name, what) in [("sum", "sum"), ("mean", "mean")] {
      out.append(Builtin(name, category: cat, params: [P("t", .tensor, "a tensor"), P("dim", .integer, "reduce along this dimension only", nilDefault)],
                         summary: "The \(what) of all elements (a number), or along dim (a tensor).",
                         example: "\(name)(tensor([[1, 2], [3, 4]]))\n\(name)(tensor([[1, 2], [3, 4]]), dim: 0)") { a in
        let x = try a.tensor("t"), d = try a.optionalInt("dim")
        let r = name == "sum" ? try x.sum(dim: d) : try x.mean(dim: d)
        return d == nil && !x.requiresGrad ? .number(Double(r.data[0])) : t(r)
      })
    }
    out += [
      Builtin("argmax", category: cat, params: [P("t", .tensor, "a tensor"), P("dim", .integer, "along this dimension only", nilDefault)],
              summary: "The flat index of the largest element, or the indices along dim.", example: "argmax(tensor([3, 9, 2]))") { a in
        let d = try a.optionalInt("dim")
        let r = try a.tensor("t").argmax(dim: d)
        return d == nil ? .number(Double(r.data[0])) : t(r)
      },
      Builtin("argmin", category: cat, params: [P("t", .tensor, "a tensor"), P("dim", .integer, "along this dimension only", nilDefault)],
              summary: "The flat index of the smallest element, or the indices along dim.", example: "argmin(tensor([3, 9, 2]))") { a in
        let d = try a.optionalInt("dim")
        let r = try a.tensor("t").argmin(dim: d)
        return d == nil ? .number(Double(r.data[0])) : t(r)
      },
      Builtin("maximum", category: cat, params: [P("a", .tensor, "a tensor or number"), P("b", .tensor, "another, broadcast against a")],
              summary: "The elementwise larger of a and b, NaN where either is NaN (np.maximum, torch.maximum).",
              discussion: "The gradient goes to the larger operand; where they are equal each gets half.",
              example: "maximum(tensor([1, 5, 3]), 2)") { a in
        t(try Tensor.binary(try a.tensor("a"), try a.tensor("b"), .maximum))
      },
      Builtin("minimum", category: cat, params: [P("a", .tensor, "a tensor or number"), P("b", .tensor, "another, broadcast against a")],
              summary: "The elementwise smaller of a and b, NaN where either is NaN (np.minimum, torch.minimum).",
              example: "minimum(tensor([1, 5, 3]), 2)") { a in
        t(try Tensor.binary(try a.tensor("a"), try a.tensor("b"), .minimum))
      },
      Builtin("clamp", category: cat, params: [P("t", .tensor, "a tensor"), P("lo", .number, "lower bound"), P("hi", .number, "upper bound")],
              summary: "Limits every element to [lo, hi].", example: "clamp(tensor([-1, 0.5, 2]), 0, 1)") { a in
        t(try a.tensor("t").clamp(try a.float("lo"), try a.float("hi")))
      },
    ]
    for (name, op, formula) in [("relu", UnaryOp.relu, "max(x, 0)"), ("sigmoid", .sigmoid, "1 / (1 + e^-x)"), ("tanh", .tanh, "the hyperbolic tangent")] {
      out.append(Builtin(name, category: cat, params: [P("t", .tensor, "a tensor")], summary: "Elementwise \(formula).",
                         example: "\(name)(tensor([-1, 0, 1]))") { a in t(try a.tensor("t").unary(op)) })
    }
    out += [
      Builtin("matmul", category: cat, params: [P("a", .tensor, "[m, k] or [k]"), P("b", .tensor, "[k, n] or [k]")],
              summary: "The matrix product (also the operator @), through OpenBLAS sgemm.", example: "matmul(tensor([[1, 2]]), tensor([[3], [4]]))") { a in
        t(try Tensor.matmul(try a.tensor("a"), try a.tensor("b")))
      },
      Builtin("conv2d", category: cat,
              params: [P("x", .tensor, "input [N,C,H,W]"), P("w", .tensor, "weight [O,C,kh,kw]"), P("b", .tensor, "bias [O]", nilDefault),
                       P("stride", .integer(min: 1), "step between windows", num(1)), P("padding", .integer(min: 0), "zeros added on each side", num(0))],
              summary: "2-D convolution (cross-correlation) with PyTorch's layouts.",
              discussion: "y[n,o,i,j] = b[o] + Σ_c,u,v w[o,c,u,v]·x[n,c,i·s+u−p, j·s+v−p]; output side (H + 2p − kh)/s + 1. By im2col and sgemm.",
              example: "shape(conv2d(rand([1, 3, 8, 8]), rand([4, 3, 3, 3]), padding: 1))") { a in
        t(try Tensor.conv2d(try a.tensor("x"), try a.tensor("w"), try a.optionalTensor("b"),
                            stride: try a.int("stride"), padding: try a.int("padding")))
      },
      Builtin("conv_transpose2d", category: cat,
              params: [P("x", .tensor, "input [N,Cin,H,W]"), P("w", .tensor, "weight [Cin,Cout,kh,kw]"), P("b", .tensor, "bias [Cout]", nilDefault),
                       P("stride", .integer(min: 1), "upsampling step", num(1)), P("padding", .integer(min: 0), "rows and columns cropped on each side", num(0))],
              summary: "Transposed convolution (the adjoint of conv2d), PyTorch's layouts.",
              discussion: "Output side (H − 1)·s − 2p + kh.",
              example: "shape(conv_transpose2d(rand([1, 4, 4, 4]), rand([4, 2, 4, 4]), stride: 2, padding: 1))") { a in
        t(try Tensor.convTranspose2d(try a.tensor("x"), try a.tensor("w"), try a.optionalTensor("b"),
                                     stride: try a.int("stride"), padding: try a.int("padding")))
      },
      Builtin("avg_pool2d", category: cat,
              params: [P("x", .tensor, "input [N,C,H,W]"), P("k", .integer(min: 1), "window side"),
                       P("stride", .integer(min: 1), "step between windows", nilDefault, shown: "k"), P("padding", .integer(min: 0), "zeros on each side (counted in the mean)", num(0))],
              summary: "Mean over k×k windows.", example: "avg_pool2d(tensor([[[[1, 2], [3, 4]]]]), 2)") { a in
        t(try a.tensor("x").avgPool2d(try a.int("k"), stride: try a.optionalInt("stride"), padding: try a.int("padding")))
      },
      Builtin("max_pool2d", category: cat,
              params: [P("x", .tensor, "input [N,C,H,W]"), P("k", .integer(min: 1), "window side"), P("stride", .integer(min: 1), "step between windows", nilDefault, shown: "k")],
              summary: "Maximum over k×k windows.", example: "max_pool2d(tensor([[[[1, 2], [3, 4]]]]), 2)") { a in
        t(try a.tensor("x").maxPool2d(try a.int("k"), stride: try a.optionalInt("stride")))
      },
      Builtin("upsample", category: cat,
              params: [P("x", .ranked([4], "feature maps [N,C,H,W]"), "input [N,C,H,W]"), P("size", .sides, "output [h, w] (or one side)", nilDefault),
                       P("scale", .positive, "output = input side × scale", nilDefault),
                       P("mode", .choice(["bilinear", "nearest"]), "\"bilinear\" or \"nearest\"", .string("bilinear"))],
              summary: "Resamples feature maps; bilinear uses half-pixel centres (align_corners false).",
              example: "shape(upsample(rand([1, 1, 4, 4]), scale: 2))") { a in
        let x = try a.tensor("x")
        var size: (Int, Int)
        var factors: (Double, Double)? = nil
        if let s = try a.optionalSides("size") {
          size = s
        } else if let f = try a.optionalNumber("scale") {
          size = (Int((Double(x.shape[2]) * f).rounded(.down)), Int((Double(x.shape[3]) * f).rounded(.down)))
          factors = (f, f)
        } else { throw BuiltinError("upsample: give size or scale") }
        return t(try x.upsample(to: size, mode: try a.string("mode"), factors: factors))
      },
      Builtin("batch_norm", category: cat,
              params: [P("x", .tensor, "input [N,C,H,W]"), P("weight", .optional(.tensor), "scale [C] (nil for 1)"), P("bias", .optional(.tensor), "shift [C] (nil for 0)"),
                       P("running_mean", .tensor, "[C], updated in place when training", nilDefault),
                       P("running_var", .tensor, "[C], updated in place when training", nilDefault),
                       P("training", .bool, "batch statistics (true) or running ones", .bool(true)),
                       P("momentum", .number, "running-statistics update rate", num(0.1)), P("eps", .number, "added to the variance", num(1e-5))],
              summary: "Batch normalization per channel over N, H, W (torch.nn.functional.batch_norm).",
              discussion: "Training normalises with the batch mean and biased variance and updates r ← (1 − m)·r + m·s, with the unbiased variance for running_var.",
              example: "rm = zeros([2])\nrv = ones([2])\ny = batch_norm(rand([4, 2, 3, 3]), ones([2]), zeros([2]), running_mean: rm, running_var: rv)\nrm") { a in
        t(try Tensor.batchNorm(try a.tensor("x"), weight: try a.optionalTensor("weight"), bias: try a.optionalTensor("bias"),
                               runningMean: try a.optionalTensor("running_mean"), runningVar: try a.optionalTensor("running_var"),
                               training: try a.bool("training"), momentum: try a.float("momentum"), eps: try a.float("eps")))
      },
      Builtin("mean_filter", category: cat, params: [P("x", .ranked([2, 3, 4], "a map [H,W], an image [C,H,W] or a batch [N,C,H,W]"), "input [N,C,H,W], [C,H,W] or [H,W]"), P("size", .integer(min: 1), "odd window side")],
              summary: "A size×size box mean, stride 1, same size out; windows at the border average only the pixels inside.",
              example: "mean_filter(tensor([[0, 0, 0], [0, 9, 0], [0, 0, 0]]), 3)") { a in
        let x = try a.tensor("x")
        let x4 = try x.reshaped(Array(repeating: 1, count: 4 - x.rank) + x.shape)
        return t(try x4.meanFilter(try a.int("size")).reshaped(x.shape))
      },
      Builtin("item", category: cat, params: [P("t", .tensor, "a one-element tensor")], summary: "The single value of a tensor as a number.",
              example: "item(tensor([[5]]))") { a in .number(Double(try a.tensor("t").item())) },
      Builtin("to_list", category: cat, params: [P("t", .tensor, "a tensor")], summary: "A tensor as nested lists of numbers.",
              example: "to_list(arange(3))") { a in Convert.list(try a.tensor("t")) },
    ]
    return out
  }

  func autogradBuiltins() -> [Builtin] {
    let cat = "Autograd"
    return [
      Builtin("param", category: cat, params: [P("t", .tensor, "initial values")],
              summary: "A copy of t that records gradients (a leaf of the autograd graph).",
              example: "w = param(tensor([1, 2]))\nbackward(sum(w * w))\ngrad(w)") { a in .tensor(try a.tensor("t").copy().asParameter()) },
      Builtin("backward", category: cat, params: [P("loss", .tensor, "a one-element tensor computed from params")],
              summary: "Back-propagates from loss; gradients add up in grad(p) of every param it depends on.",
              discussion: "Reverse-mode autograd: the recorded ops are visited in reverse topological order, each applying its vector–Jacobian product.",
              example: "w = param(tensor([3]))\nbackward(sum(w ^ 2))\ngrad(w)") { a in
        try a.tensor("loss").backward()
        return .none
      },
      Builtin("grad", category: cat, params: [P("t", .tensor, "a param")], summary: "The accumulated gradient of a param, or nil before backward.",
              example: "w = param(ones([2]))\nbackward(sum(w * 3))\ngrad(w)") { a in
        (try a.tensor("t").grad).map { .tensor($0) } ?? .none
      },
      Builtin("detach", category: cat, params: [P("t", .tensor, "a tensor")], summary: "The same values, cut off from the autograd graph.",
              example: "w = param(ones([2]))\ntype(detach(w * 2))") { a in .tensor(try a.tensor("t").detached()) },
      Builtin("no_grad", category: cat, params: [P("f", .function, "called with no arguments")],
              summary: "Calls f without recording gradients (faster, less memory) and returns its value.",
              example: "w = param(ones([2]))\nno_grad(fn() { sum(w * 2) })") { a in
        let f = try a.function("f")
        return try withNoGrad { try a.interpreter.call(f, []) }
      },
    ]
  }
}
