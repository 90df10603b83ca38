import Foundation
import RiadData
import RiadImage
import RiadLang
import RiadMethod
import RiadNN
import RiadTensor

extension Session {
  func model(_ a: Args, _ name: String = "net") throws -> UNet { try a.host(name, ModelObject.self).net }
  func optimizer(_ a: Args, _ name: String = "opt") throws -> Optimizer { try a.host(name, OptimizerObject.self).optimizer }

  /// A batch from a `.imageOrBatch` parameter: `[N,C,H,W]`, or `[C,H,W]`
  /// with a batch dimension added (`single` tells the caller to drop it again).
  func batch(_ a: Args, _ name: String) throws -> (Tensor, single: Bool) {
    let t = try a.tensor(name)
    return t.rank == 3 ? (try t.reshaped([1] + t.shape), true) : (t, false)
  }

  func maskBuiltins() -> [Builtin] {
    [
      Builtin("masks", category: "RIAD",
              params: [P("size", .sides, "the image side, or [h, w]"), P("k", .integer(min: 1), "cell side in pixels", num(8)),
                       P("n", .integer(min: 2), "number of masks (disjoint sets of cells)", num(3)),
                       P("seed", .integer(min: 0), "seed; nil uses the global generator", nilDefault)],
              summary: "RIAD's n disjoint masks [n,1,H,W]: 0 on the hidden cells; every pixel is hidden in exactly one mask.",
              discussion: "The image is cut into k×k cells (border cells clipped); one random permutation of the cells is cut into n contiguous chunks whose sizes differ by at most one cell (paper, Algorithm 1).",
              example: "m = masks(32, k: 8, seed: 1)\nsum(m, dim: 0)[0, 0, 0]") { [unowned self] a in
        let (h, w) = try a.sides("size")
        let k = try a.int("k"), n = try a.int("n")
        return .tensor(try self.withGenerator(try a.seed()) { try Masks.make(height: h, width: w, k: k, n: n, using: &$0) })
      },
      Builtin("partitions", category: "RIAD",
              params: [P("size", .sides, "the image side, or [h, w]"), P("ks", .integers(min: 1), "cell sizes", .list([2, 4, 8, 16].map { num($0) })),
                       P("n", .integer(min: 2), "masks per partition", num(3)), P("draws", .integer(min: 1), "partitions per k", num(1)),
                       P("seed", .integer(min: 0), "the seed given to anomaly_map", num(0))],
              summary: "The partitions anomaly_map draws with these options, in its order: a list of [n,1,H,W] masks, `draws` per k.",
              discussion: "To look at what the map is built from, or to hand the same masks to another implementation (save_tensors).",
              example: "ms = partitions(16, ks: [4, 8])\n[len(ms), shape(ms[0])]") { a in
        let (h, w) = try a.sides("size")
        let parts = try Inpainting.anomalyMasks(height: h, width: w, ks: try a.ints("ks"), n: try a.int("n"), draws: try a.int("draws"), seed: UInt64(try a.int("seed")))
        return .list(parts.map { .tensor($0.masks) })
      },
    ]
  }

  func modelBuiltins() -> [Builtin] {
    let cat = "Model"
    return [
      Builtin("unet", category: cat,
              params: [P("channels", .integer(min: 1), "image channels in and out", num(3)), P("base", .integer(min: 1), "width of the first level", num(64)),
                       P("depth", .integer(min: 2), "levels (widths base·1, 2, 4, 8, 8, …)", num(5)),
                       P("out", .choice(["sigmoid", "tanh", "none"]), "output activation: \"sigmoid\", \"tanh\" (mapped to [0,1]) or \"none\"", .string("sigmoid"))],
              summary: "The RIAD inpainting U-Net (callable: net(x)); PyTorch state_dict parameter names.",
              discussion: "Down blocks: conv (3×3 on the first level, else 4×4 stride 2) → BN → ReLU → conv 3×3 → BN → ReLU. Up blocks: 4×4 stride-2 transposed conv, concatenation with the skip, two conv 3×3 → BN → ReLU. A final 3×3 conv. unet(base: 64) has 28,805,699 parameters. Initialised as PyTorch does, from the global generator.",
              example: "net = unet(base: 4, depth: 3)\nshape(net(rand([1, 3, 16, 16])))") { a in
        let c = UNetConfig(channels: try a.int("channels"), base: try a.int("base"), depth: try a.int("depth"), out: try a.string("out"))
        return .host(ModelObject(try UNet(c, rng: &globalGenerator)))
      },
      Builtin("train_mode", category: cat, params: [P("net", .model, "a model")], summary: "Batch statistics in batch norm (and running-statistics updates).",
              example: "net = unet(base: 2, depth: 2)\ntrain_mode(net)") { [unowned self] a in
        try self.model(a).training = true
        return a["net"]
      },
      Builtin("eval_mode", category: cat, params: [P("net", .model, "a model")], summary: "Running statistics in batch norm; for inference.",
              example: "net = unet(base: 2, depth: 2)\neval_mode(net)") { [unowned self] a in
        try self.model(a).training = false
        return a["net"]
      },
      Builtin("params", category: cat, params: [P("net", .model, "a model")],
              summary: "Every parameter and buffer as a record name → tensor (state_dict names; use r[\"down1.conv1.weight\"]).",
              example: "net = unet(base: 2, depth: 2)\nshape(params(net)[\"down1.conv1.weight\"])") { [unowned self] a in
        .record(try self.model(a).namedTensors.map { ($0.name, .tensor($0.tensor)) })
      },
      Builtin("summary", category: cat, params: [P("net", .model, "a model")],
              summary: "A table of the model's blocks: each tensor's name, shape and element count, and the totals.",
              example: "summary(unet(base: 2, depth: 2))") { [unowned self] a in
        let net = try self.model(a)
        var lines: [String] = [], block = ""
        for t in net.namedTensors {
          let head = String(t.name.prefix { $0 != "." })
          if head != block { block = head; lines.append(head) }
          let name = String(t.name.dropFirst(head.count + 1))
          lines.append("  " + name.padding(toLength: 22, withPad: " ", startingAt: 0)
                       + t.tensor.shape.shapeString.padding(toLength: 20, withPad: " ", startingAt: 0)
                       + grouped(t.tensor.count).leftPadded(10) + (t.trainable ? "" : "  (buffer)"))
        }
        lines.append("\(grouped(net.parameterCount)) trainable parameters in \(net.parameters.count) tensors")
        self.say(lines.joined(separator: "\n"))
        return .none
      },
      Builtin("param_count", category: cat, params: [P("net", .model, "a model")], summary: "The number of trainable parameters.",
              example: "param_count(unet(base: 4))") { [unowned self] a in .number(Double(try self.model(a).parameterCount)) },
      Builtin("adam", category: cat,
              params: [P("net", .parameters, "a model, or a list of param tensors"), P("lr", .number, "learning rate", num(1e-4)),
                       P("weight_decay", .number, "L2 penalty added to the gradient", num(1e-5)),
                       P("betas", .pair("[beta1, beta2]"), "moment decay rates", .list([num(0.9), num(0.999)]))],
              summary: "An Adam optimizer with torch.optim.Adam semantics.",
              example: "w = param(ones([2]))\nopt = adam([w], lr: 0.1)\nbackward(sum(w * w))\nstep(opt)\nw") { [unowned self] a in
        let (b1, b2) = try a.pair("betas")
        return .host(OptimizerObject(Adam(try self.parameters(a), lr: try a.float("lr"), betas: (Float(b1), Float(b2)), weightDecay: try a.float("weight_decay"))))
      },
      Builtin("sgd", category: cat,
              params: [P("net", .parameters, "a model, or a list of param tensors"), P("lr", .number, "learning rate"), P("momentum", .number, "momentum", num(0))],
              summary: "Stochastic gradient descent (torch.optim.SGD).", example: "w = param(ones([2]))\nopt = sgd([w], lr: 0.5)\nbackward(sum(w * w))\nstep(opt)\nw") { [unowned self] a in
        .host(OptimizerObject(SGD(try self.parameters(a), lr: try a.float("lr"), momentum: try a.float("momentum"))))
      },
      Builtin("step", category: cat, params: [P("opt", .optimizer, "an optimizer")], summary: "Updates the parameters from their gradients.",
              example: "w = param(ones([1]))\nopt = sgd([w], lr: 1)\nbackward(sum(w))\nstep(opt)\nw") { [unowned self] a in
        try self.optimizer(a).step()
        return .none
      },
      Builtin("zero_grad", category: cat, params: [P("opt", .optimizer, "an optimizer")], summary: "Clears the gradients of the optimizer's parameters.",
              example: "w = param(ones([1]))\nopt = sgd([w], lr: 1)\nbackward(sum(w))\nzero_grad(opt)\ngrad(w)") { [unowned self] a in
        try self.optimizer(a).zeroGrad()
        return .none
      },
      Builtin("set_lr", category: cat, params: [P("opt", .optimizer, "an optimizer"), P("lr", .number, "the new learning rate")],
              summary: "Changes the learning rate (for schedules).", example: "opt = adam([param(ones([1]))])\nset_lr(opt, 1e-5)\nopt.lr") { [unowned self] a in
        try self.optimizer(a).learningRate = try a.float("lr")
        return .none
      },
      Builtin("save", category: cat,
              params: [P("net", .model, "a model"), P("path", .string, "a .safetensors file"),
                       P("opt", .optimizer, "also its optimizer: a training checkpoint that load_training resumes exactly", nilDefault)],
              summary: "Writes a checkpoint (safetensors, F32, PyTorch names, config in __metadata__) atomically.",
              discussion: "With opt: a training checkpoint: the model, the optimizer's moments, step count and learning rate (tensors optimizer.exp_avg.NAME …), where its training run stands, and the session generator. load(path) still reads it as a model.",
              example: "save(unet(base: 2, depth: 2), \"/tmp/riad-example.safetensors\")") { [unowned self] a in
        let opt = a.isNil("opt") ? nil : try self.optimizer(a)
        try self.model(a).save(to: try a.string("path"), optimizer: opt, generator: opt == nil ? nil : globalGenerator)
        return .none
      },
      Builtin("load", category: cat,
              params: [P("path", .string, "a checkpoint written by save, or a U-Net state_dict written by PyTorch"),
                       P("out", .choice(["sigmoid", "tanh", "none"]), "the output activation of a PyTorch state_dict (riad's checkpoints record theirs)", nilDefault)],
              summary: "Rebuilds a model from a checkpoint; rejects a foreign, truncated or mismatched file.",
              discussion: "A state_dict saved by PyTorch (safetensors.torch.save_file(net.state_dict(), path)) loads too: channels, base and depth are read off the shapes, F16, BF16 and F64 tensors are converted, num_batches_tracked is ignored, and a shared prefix such as DistributedDataParallel's module. is dropped. A tensor that is missing, unexpected or of the wrong shape is named with what was expected.",
              example: "save(unet(base: 2, depth: 2), \"/tmp/riad-example.safetensors\")\nload(\"/tmp/riad-example.safetensors\")") { a in
        .host(ModelObject(try UNet.load(from: try a.string("path"), out: a.isNil("out") ? nil : try a.string("out"))))
      },
      Builtin("load_training", category: cat, params: [P("path", .string, "a training checkpoint written by save(net, path, opt: opt)")],
              summary: "Resumes a training checkpoint: {net, opt, epochs, steps}; train(r.net, data, opt: r.opt) continues the run exactly.",
              discussion: "The optimizer comes back with its moments, step count and learning rate, and with its training run (generator, epochs done, and the order of an unfinished epoch), so that 10 epochs, a save, a load in a new session and 10 more give the weights of 20 epochs in one go (same data, batch and seed). The session generator is restored as it was at the save, so loops of train_step continue exactly too.",
              example: "net = unet(base: 2, depth: 3)\nopt = adam(net, lr: 1e-3)\ntrain(net, rand([4, 3, 16, 16], seed: 1), epochs: 1, batch: 2, opt: opt)\nsave(net, \"/tmp/riad-run.safetensors\", opt: opt)\nr = load_training(\"/tmp/riad-run.safetensors\")\n[r.epochs, r.steps]") { a in
        let (net, opt, generator) = try UNet.loadTraining(from: try a.string("path"))
        if let generator { globalGenerator = generator }
        return .record([("net", .host(ModelObject(net))), ("opt", .host(OptimizerObject(opt))),
                        ("epochs", .number(Double(opt.run?.epochs ?? 0))), ("steps", .number(Double(opt.settings.step)))])
      },
      Builtin("save_tensors", category: cat,
              params: [P("tensors", .recordOf(.tensor), "a record name → tensor"), P("path", .string, "a .safetensors file")],
              summary: "Writes tensors to a safetensors file (F32, atomically), for Python: safetensors.torch.load_file(path).",
              example: "save_tensors({x: rand([2, 2], seed: 1), m: masks(8, k: 4, seed: 1)}, \"/tmp/riad-tensors.safetensors\")") { a in
        guard case .record(let fields) = a["tensors"] else { throw BuiltinError("save_tensors: expected a record name → tensor") }
        guard !fields.keys.isEmpty else { throw BuiltinError("bad argument 'tensors' to 'save_tensors': the record is empty") }
        try Safetensors.write(try fields.pairs.map { ($0.0, try Convert.tensor($0.1)) }, metadata: ["format": "riad"], to: try a.string("path"))
        return .none
      },
      Builtin("load_tensors", category: cat, params: [P("path", .string, "a safetensors file")],
              summary: "Reads every tensor of a safetensors file into a record name → tensor (sorted by name; F16, BF16, F64 and integers become F32).",
              example: "save_tensors({x: ones([2])}, \"/tmp/riad-tensors.safetensors\")\nload_tensors(\"/tmp/riad-tensors.safetensors\").x") { a in
        let tensors = try Safetensors.read(try a.string("path")).tensors
        return .record(tensors.keys.sorted().map { ($0, .tensor(tensors[$0]!)) })
      },
    ]
  }

  /// The tensors a `.parameters` argument names.
  func parameters(_ a: Args) throws -> [Tensor] {
    if case .host(let h as ModelObject) = a["net"] { return h.net.parameters }
    return try a.tensors("net")
  }
}

extension String {
  func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
