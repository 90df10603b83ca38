import Foundation
import RiadData
import RiadImage
import RiadLang
import RiadMethod
import RiadNN
import RiadTensor

extension Session {
  /// Two same-shape images or batches, as batches.
  func pair(_ a: Args, _ x: String, _ y: String) throws -> (Tensor, Tensor, single: Bool) {
    let (p, s1) = try batch(a, x), (q, s2) = try batch(a, y)
    guard p.shape == q.shape, s1 == s2 else {
      throw BuiltinError("\(a.builtin.name): '\(x)' and '\(y)' must have the same shape, got \(try a.tensor(x).shape.shapeString) and \(try a.tensor(y).shape.shapeString)")
    }
    return (p, q, s1)
  }

  /// The model of `a` and the batch `x`, whose channels must be the model's.
  func modelAndImages(_ a: Args, _ x: String = "x") throws -> (UNet, Tensor, single: Bool) {
    let net = try model(a)
    let (b, single) = try batch(a, x)
    let c = net.config.channels
    guard b.shape[1] == c else {
      throw BuiltinError("bad argument '\(x)' to '\(a.builtin.name)': the model takes images of \(c) channel\(c == 1 ? "" : "s"), got \(b.shape[1]) (tensor \(try a.tensor(x).shape.shapeString))")
    }
    return (net, b, single)
  }

  func riadBuiltins() -> [Builtin] {
    let cat = "RIAD"
    let methodParams = [
      P("ks", .integers(min: 1), "cell sizes k, one map each, averaged", .list([2, 4, 8, 16].map { num($0) })),
      P("n", .integer(min: 2), "masks per partition", num(3)),
      P("smooth", .integer(min: 1), "mean-filter side; nil: 21 at 256 px, scaled to the image", nilDefault),
      P("draws", .integer(min: 1), "random partitions per k", num(1)), P("seed", .integer(min: 0), "seed of the mask draws", num(0)),
    ]
    return [
      Builtin("inpaint", category: cat,
              params: [P("net", .model, "the inpainting network"), P("x", .imageOrBatch, "image [C,H,W] or batch [N,C,H,W]"), P("masks", .batch, "[n,1,H,W] from masks()")],
              summary: "The composed reconstruction Σᵢ (1−Mᵢ)⊙net(x⊙Mᵢ): each pixel predicted from a copy in which it was hidden.",
              discussion: "In train mode each masked copy is its own forward pass (its own batch statistics); in eval mode the n copies run as one batch.",
              example: "net = unet(base: 2, depth: 3)\nx = rand([3, 16, 16], seed: 1)\nshape(inpaint(net, x, masks(16, k: 4)))") { [unowned self] a in
        let (net, x, single) = try self.modelAndImages(a)
        let r = try Inpainting.inpaint(net, x, try a.tensor("masks"))
        return .tensor(single ? try r.indexed([.at(0)]) : r)
      },
      Builtin("gms", category: cat, params: [P("a", .imageOrBatch, "image or batch"), P("b", .imageOrBatch, "same shape")],
              summary: "Gradient magnitude similarity (2·gₐ·g_b + c)/(gₐ² + g_b² + c): channel mean, Prewitt/3 filters, zero padding, c = 0.0026.",
              example: "x = rand([3, 16, 16], seed: 1)\nmin(gms(x, x))") { [unowned self] a in
        let (p, q, single) = try self.pair(a, "a", "b")
        let m = try Losses.gms(p, q)
        return .tensor(single ? try m.reshaped([p.shape[2], p.shape[3]]) : m)
      },
      Builtin("msgms", category: cat, params: [P("a", .imageOrBatch, "image or batch"), P("b", .imageOrBatch, "same shape"), P("scales", .integer(min: 1), "scales (2×2 average pooling between)", num(4))],
              summary: "The multi-scale GMS anomaly map: 1 − mean over scales of each scale's GMS, bilinearly upsampled ([H,W] for an image, [N,1,H,W] for a batch).",
              example: "a = rand([3, 16, 16], seed: 1)\nb = a * 1\nb[:, 4:8, 4:8] = 0\nmax(msgms(a, b))") { [unowned self] a in
        let (p, q, single) = try self.pair(a, "a", "b")
        let m = try Losses.msgms(p, q, scales: try a.int("scales"))
        return .tensor(single ? try m.reshaped([p.shape[2], p.shape[3]]) : m)
      },
      Builtin("ssim", category: cat, params: [P("a", .imageOrBatch, "image or batch"), P("b", .imageOrBatch, "same shape"),
                                              P("window", .integer(min: 1), "Gaussian window side", num(11)), P("sigma", .number, "Gaussian σ", num(1.5))],
              summary: "Mean structural similarity (Gaussian window, zero padding, C1 = 0.01², C2 = 0.03²).",
              example: "x = rand([1, 16, 16], seed: 1)\nssim(x, x)") { [unowned self] a in
        let (p, q, _) = try self.pair(a, "a", "b")
        let s = try Losses.ssim(p, q, window: try a.int("window"), sigma: try a.float("sigma"))
        return s.requiresGrad ? .tensor(s) : .number(Double(s.data[0]))
      },
      Builtin("ssim_map", category: cat, params: [P("a", .imageOrBatch, "image or batch"), P("b", .imageOrBatch, "same shape")],
              summary: "The per-pixel, per-channel SSIM map.", example: "shape(ssim_map(rand([3, 16, 16]), rand([3, 16, 16])))") { [unowned self] a in
        let (p, q, single) = try self.pair(a, "a", "b")
        let m = try Losses.ssimMap(p, q)
        return .tensor(single ? try m.indexed([.at(0)]) : m)
      },
      Builtin("mse", category: cat, params: [P("a", .tensor, "a tensor"), P("b", .tensor, "same shape")],
              summary: "Mean squared error.", example: "mse(zeros([4]), ones([4]))") { a in
        let m = try Losses.mse(try a.tensor("a"), try a.tensor("b"))
        return m.requiresGrad ? .tensor(m) : .number(Double(m.data[0]))
      },
      Builtin("riad_loss", category: cat,
              params: [P("x", .imageOrBatch, "the input image or batch"), P("r", .imageOrBatch, "its reconstruction"),
                       P("lambda_g", .number, "weight of the MSGMS term", num(1)), P("lambda_s", .number, "weight of the SSIM term", num(1))],
              summary: "The RIAD loss λ_G·mean(MSGMS) + λ_S·mean(1 − SSIM) + mean((x − r)²).",
              example: "x = rand([3, 16, 16], seed: 1)\nriad_loss(x, x * 0.9)") { [unowned self] a in
        let (x, r, _) = try self.pair(a, "x", "r")
        let l = try Losses.riadLoss(x, r, lambdaG: try a.float("lambda_g"), lambdaS: try a.float("lambda_s"))
        return l.requiresGrad ? .tensor(l) : .number(Double(l.data[0]))
      },
      Builtin("train_step", category: cat,
              params: [P("net", .model, "the network (switched to train mode)"), P("opt", .optimizer, "its optimizer"), P("x", .batch, "a batch [N,C,H,W]"),
                       P("k", .integer(min: 1), "cell size; nil draws one from ks", nilDefault), P("ks", .integers(min: 1), "cell sizes to draw from", .list([2, 4, 8, 16].map { num($0) })),
                       P("n", .integer(min: 2), "masks", num(3))],
              summary: "One RIAD optimisation step: masks, composed inpainting, loss, backward, optimizer step. Returns the loss.",
              discussion: "A non-finite loss stops with an error before any parameter changes.",
              example: "net = unet(base: 2, depth: 3)\nopt = adam(net, lr: 1e-3)\ntrain_step(net, opt, rand([2, 3, 16, 16], seed: 1), k: 4)") { [unowned self] a in
        let (net, x, _) = try self.modelAndImages(a)
        let ks = try a.ints("ks")
        let k = try a.optionalInt("k") ?? ks[globalGenerator.nextInt(below: max(1, ks.count))]
        return .number(Double(try Training.step(net, try self.optimizer(a), x, k: k, n: try a.int("n"), using: &globalGenerator)))
      },
      Builtin("train", category: cat,
              params: [P("net", .model, "the network"), P("data", .either([.dataset, .tensor]), "training images (a dataset's train field)"),
                       P("epochs", .integer(min: 0), "passes over the data", num(300)), P("batch", .integer(min: 1), "batch size", num(4)),
                       P("lr", .number, "learning rate of a new Adam", num(1e-4)), P("opt", .optimizer, "continue with this optimizer instead", nilDefault),
                       P("ks", .integers(min: 1), "cell sizes, one drawn per batch", .list([2, 4, 8, 16].map { num($0) })), P("n", .integer(min: 2), "masks", num(3)),
                       P("seed", .integer(min: 0), "seed of shuffling and masks", num(0)),
                       P("preview", .imageOrBatch, "an image whose reconstruction and anomaly map are shown while training", nilDefault),
                       P("every", .integer(min: 1), "steps between preview frames", num(10))],
              summary: "Trains RIAD for some epochs; returns {loss: [per-epoch mean], seconds: [per-epoch], steps: [per-step loss], epochs, interrupted, time}.",
              discussion: "Shows a progress bar (epoch, step, loss, time left) on a terminal and a line every few epochs otherwise, on stderr, and ends with a one-line summary. With preview: x, every `every` steps the current reconstruction of x and its anomaly map are shown beside the loss curve, redrawn in place on a terminal (each frame a picture in files mode and in reports). Ctrl-C stops at a step boundary and returns the history so far with interrupted: true. An optimizer passed as opt carries the run: train(…, opt: opt) with the same seed continues it (shuffles and masks where the last call stopped, also inside an epoch), and save(net, path, opt: opt) writes a training checkpoint that load_training resumes exactly.",
              example: "net = unet(base: 2, depth: 3)\nh = train(net, rand([4, 3, 16, 16], seed: 1), epochs: 2, batch: 2, lr: 1e-3)\nlen(h.loss)",
              hints: ["data": "train(net, data) trains the model on data (a dataset or a batch [N,C,H,W]), as in train(net, ds); PyTorch's net.train() only switches to training mode, which here is train_mode(net)"]) { [unowned self] a in
        let net = try self.model(a)
        let data = try self.trainTensor(a, "data")
        let c = net.config.channels
        guard data.rank == 4, data.shape[1] == c else {
          throw BuiltinError("bad argument 'data' to 'train': the model takes images of \(c) channel\(c == 1 ? "" : "s"), got \(data.shape.shapeString)")
        }
        let opt = a.isNil("opt") ? Adam(net.parameters, lr: try a.float("lr"), weightDecay: 1e-5) : try self.optimizer(a)
        let epochs = try a.int("epochs"), ks = try a.ints("ks"), n = try a.int("n")
        let preview = a.isNil("preview") ? nil
          : try TrainingPreview(session: self, net: net, image: try self.modelAndImages(a, "preview").1.indexed([.at(0)]),
                                every: try a.int("every"), ks: ks, n: n)
        let bar = TrainingBar(session: self, epochs: epochs)
        defer { self.display.endFrames() }
        var losses: [Double] = []
        let h = try Training.train(net, opt, data: data, epochs: epochs, batch: try a.int("batch"), ks: ks, n: n,
                                   seed: UInt64(try a.int("seed")), shouldStop: a.interpreter.interruptCheck) { p in
          losses.append(Double(p.stepLoss))
          bar.update(p)
          if let preview, preview.due(p.globalStep, of: p.totalSteps) {
            let figure = try preview.figure(p, losses: losses)
            bar.bar.clear()
            try self.display.showFrame(figure, rows: max(8, self.display.terminal.rows * 2 / 3))
          }
        }
        bar.finish(h, planned: epochs)
        func list(_ v: [Double]) -> Value { .list(v.map { .number($0) }) }
        return .record([("loss", list(h.epochLoss)), ("seconds", list(h.epochSeconds)), ("steps", list(h.stepLoss)),
                        ("epochs", .number(Double(h.epochs))), ("interrupted", .bool(h.interrupted)), ("time", .number(h.seconds))])
      },
    ] + evaluationBuiltins(methodParams)
  }

  func evaluationBuiltins(_ methodParams: [BuiltinParam]) -> [Builtin] {
    let cat = "RIAD"
    func options(_ a: Args) throws -> (ks: [Int], n: Int, smooth: Int?, draws: Int, seed: UInt64) {
      (try a.ints("ks"), try a.int("n"), try a.optionalInt("smooth"), try a.int("draws"), UInt64(try a.int("seed")))
    }
    return [
      Builtin("anomaly_map", category: cat, params: [P("net", .model, "a trained network"), P("x", .imageOrBatch, "image [C,H,W] or batch [N,C,H,W]")] + methodParams,
              summary: "The RIAD anomaly map: MSGMS between x and its composed inpainting, averaged over k (and draws), then mean-filtered ([H,W] or [N,1,H,W]).",
              discussion: "Runs in eval mode without gradients; the model's mode is restored afterwards.",
              example: "net = unet(base: 2, depth: 3)\nshape(anomaly_map(net, rand([3, 16, 16], seed: 1), ks: [4, 8]))") { [unowned self] a in
        let (net, x, single) = try self.modelAndImages(a)
        let o = try options(a)
        let m = try Inpainting.anomalyMap(net, x, ks: o.ks, n: o.n, smooth: o.smooth, draws: o.draws, seed: o.seed)
        return .tensor(single ? try m.reshaped([x.shape[2], x.shape[3]]) : m)
      },
      Builtin("score", category: cat, params: [P("map", .ranked([2, 4], "a map [H,W] or maps [N,1,H,W]"), "a map [H,W] or maps [N,1,H,W]")],
              summary: "The image score: the maximum of the map (a number), or of each map (a tensor [N]).",
              example: "score(tensor([[0.1, 0.7], [0.2, 0.3]]))") { a in
        let m = try a.tensor("map")
        if m.rank <= 2 { return .number(Double(try m.max().data[0])) }
        return .tensor(try Inpainting.scores(m))
      },
      Builtin("evaluate", category: cat, params: [P("net", .model, "a trained network"), P("ds", .dataset, "with test images, labels and masks")] + methodParams,
              summary: "Scores a category: {image_auroc, pixel_auroc, pixel_ap, aupro, scores, maps, seconds}.",
              discussion: "Image AUROC from the map maxima; pixel AUROC, pixel AP and AUPRO (FPR ≤ 0.3) over every pixel of every test image, on the smoothed maps.",
              example: "ds = synthetic(size: 16, train: 2, test: 4)\nnet = unet(base: 2, depth: 3)\nr = evaluate(net, ds, ks: [4])\nr.image_auroc") { [unowned self] a in
        let d = try a.host("ds", DatasetObject.self).dataset
        let o = try options(a)
        let bar = ProgressBar(session: self)
        do {
          let r = try Training.evaluate(try self.model(a), test: d.test, labels: d.labels, masks: d.masks, ks: o.ks, n: o.n,
                                        smooth: o.smooth, draws: o.draws, seed: o.seed, shouldStop: a.interpreter.interruptCheck) { done, total, elapsed in
            let left = elapsed / Double(done) * Double(total - done)
            bar.draw("evaluate: \(done)/\(total) test images  \(ProgressBar.clock(elapsed)) elapsed, \(ProgressBar.clock(left)) left",
                     done: Double(done), total: Double(total), force: done == total)
          }
          bar.finish("evaluate: \(d.test.shape[0]) test images in \(ProgressBar.clock(r.seconds)): image AUROC \(Format.short(r.imageAUROC)), pixel AUROC \(Format.short(r.pixelAUROC)), AUPRO \(Format.short(r.aupro))")
          return .record([("image_auroc", num(r.imageAUROC)), ("pixel_auroc", num(r.pixelAUROC)), ("pixel_ap", num(r.pixelAP)),
                          ("aupro", num(r.aupro)), ("scores", .tensor(r.scores)), ("maps", .tensor(r.maps)), ("seconds", num(r.seconds))])
        } catch is TrainingInterrupted {
          bar.clear()
          throw ScriptError(.interrupted, "interrupted", at: .none)
        }
      },
      Builtin("explain", category: cat,
              params: [P("net", .model, "a network"), P("x", .image, "one image [C,H,W]"), P("k", .integer(min: 1), "cell size", num(8)),
                       P("n", .integer(min: 2), "masks", num(3)), P("seed", .integer(min: 0), "seed of the masks", num(0))],
              summary: "One captioned picture of the whole RIAD pipeline for one image: input, masks, masked inputs, inpaintings, reconstruction, GMS per scale, anomaly map, overlay.",
              example: "net = unet(base: 2, depth: 3)\nshape(explain(net, rand([3, 16, 16], seed: 1), k: 4))") { [unowned self] a in
        let (net, x, _) = try self.modelAndImages(a)
        return try self.explain(net, try x.indexed([.at(0)]), k: try a.int("k"), n: try a.int("n"), seed: UInt64(try a.int("seed")))
      },
    ]
  }

  func explain(_ net: UNet, _ x: Tensor, k: Int, n: Int, seed: UInt64) throws -> Value {
    let (h, w) = (x.shape[1], x.shape[2])
    let batch = try x.reshaped([1] + x.shape)
    var rng = RandomGenerator(seed: seed)
    let m = try Masks.make(height: h, width: w, k: k, n: n, using: &rng)
    let wasTraining = net.training
    net.training = false
    defer { net.training = wasTraining }
    return try withNoGrad {
      // Rows: the result; then for each mask what is hidden, what the network
      // sees, what it paints and what it contributes; then the GMS scales.
      var steps: [Figure.Panel] = []
      var r: Tensor? = nil
      for i in 0..<n {
        let mi = try m.indexed([.slice(start: i, stop: i + 1, step: 1)])
        let masked = try batch * mi
        let out = try net(masked)
        let part = try (1 - mi) * out
        r = try r.map { try $0 + part } ?? part
        steps.append(Figure.Panel(caption: "mask \(i + 1)", image: try RGBImage(mi.indexed([.at(0)]))))
        steps.append(Figure.Panel(caption: "input × mask \(i + 1)", image: try RGBImage(masked.indexed([.at(0)]))))
        steps.append(Figure.Panel(caption: "inpainted \(i + 1)", image: try RGBImage(out.indexed([.at(0)]))))
        steps.append(Figure.Panel(caption: "hidden part \(i + 1)", image: try RGBImage(part.indexed([.at(0)]))))
      }
      var (p, q) = (batch, r!)
      var sum: Tensor? = nil
      var scales: [Figure.Panel] = []
      for s in 0..<4 where h >> s >= 2 && w >> s >= 2 {
        if s > 0 { p = try p.avgPool2d(2); q = try q.avgPool2d(2) }
        var g = try Losses.gms(p, q)
        if s > 0 { g = try g.upsample(to: (h, w)) }
        scales.append(Figure.Panel(caption: "1 − GMS at 1/\(1 << s)", image: try RGBImage(ImageOps.heatmap(1 - g, range: (0, 1))),
                                   colorBar: .init(lo: 0, hi: 1, cmap: .jet)))
        sum = try sum.map { try $0 + g } ?? g
      }
      let map = try (1 - sum! / Float(scales.count)).meanFilter(Inpainting.smoothSize(h)).reshaped([h, w])
      let (lo, hi) = (map.data.min() ?? 0, map.data.max() ?? 1)
      let head: [Figure.Panel] = [
        Figure.Panel(caption: "input", image: try RGBImage(x)),
        Figure.Panel(caption: "reconstruction", image: try RGBImage(r!.indexed([.at(0)]))),
        Figure.Panel(caption: "anomaly map k=\(k)", image: try RGBImage(ImageOps.heatmap(map)), colorBar: .init(lo: lo, hi: hi, cmap: .jet)),
        Figure.Panel(caption: "overlay", image: try RGBImage(ImageOps.overlay(x, map))),
      ]
      return try pictureTensor(Figure.grid(head + steps + scales, columns: 4, minSide: 128))
    }
  }

  func metricBuiltins() -> [Builtin] {
    let cat = "Metrics"
    func pairs(_ a: Args) throws -> ([Float], [Float]) { (try a.tensor("scores").data, try a.tensor("labels").data) }
    return [
      Builtin("auroc", category: cat, params: [P("scores", .tensor, "higher means more anomalous"), P("labels", .tensor, "1 for anomalous, 0 for normal")],
              summary: "Area under the ROC curve, exact, ties as scikit-learn's roc_auc_score.", example: "auroc([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0])") { a in
        let (s, l) = try pairs(a)
        return .number(try Metrics.auroc(s, l))
      },
      Builtin("roc", category: cat, params: [P("scores", .tensor, "scores"), P("labels", .tensor, "0/1 labels")],
              summary: "The ROC curve {fpr, tpr, thresholds}, one point per distinct score (from +inf).",
              example: "r = roc([0.9, 0.4, 0.6, 0.1], [1, 0, 1, 0])\nr.tpr") { a in
        let (s, l) = try pairs(a)
        let r = try Metrics.roc(s, l)
        func t(_ v: [Double]) -> Value { .tensor(Tensor(shape: [v.count], data: v.map(Float.init))) }
        return .record([("fpr", t(r.fpr)), ("tpr", t(r.tpr)), ("thresholds", t(r.thresholds))])
      },
      Builtin("average_precision", category: cat, params: [P("scores", .tensor, "scores"), P("labels", .tensor, "0/1 labels")],
              summary: "Average precision Σ (Rₙ − Rₙ₋₁)·Pₙ, as scikit-learn's average_precision_score.",
              example: "average_precision([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0])") { a in
        let (s, l) = try pairs(a)
        return .number(try Metrics.averagePrecision(s, l))
      },
      Builtin("aupro", category: cat,
              params: [P("maps", .tensor, "anomaly maps [N,1,H,W]"), P("masks", .tensor, "ground truth, same shape"), P("fpr_limit", .number, "integrate up to this FPR", num(0.3))],
              summary: "Area under the per-region-overlap curve up to fpr_limit, divided by it (MVTec AD's evaluation, 8-connected regions).",
              example: "m = zeros([1, 1, 8, 8])\nm[0, 0, 2:5, 2:5] = 1\naupro(m * 0.8 + rand([1, 1, 8, 8], seed: 1) * 0.3, m)") { a in
        .number(try Metrics.aupro(maps: try a.tensor("maps"), masks: try a.tensor("masks"), fprLimit: try a.number("fpr_limit")))
      },
    ]
  }
}
