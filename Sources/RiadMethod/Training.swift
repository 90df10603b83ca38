import Foundation
import RiadNN
import RiadTensor

/// Stopped by the caller's interrupt check at a step boundary.
public struct TrainingInterrupted: Error {
  public let completedSteps: Int
}

/// Where a training run is, for progress displays and previews.
public struct TrainingProgress {
  public let epoch: Int, epochs: Int, step: Int, steps: Int
  /// Steps done in the whole run, and the run's total.
  public let globalStep: Int, totalSteps: Int
  /// The mean loss of the epoch so far, and the last step's loss.
  public let loss: Float, stepLoss: Float
  public let elapsed: Double
}

/// What a training run did: the mean loss and time of every completed
/// epoch, the loss of every step, and whether it was stopped early.
public struct TrainingHistory {
  public var epochLoss: [Double] = []
  public var epochSeconds: [Double] = []
  public var stepLoss: [Double] = []
  public var epochs = 0
  public var interrupted = false
  public var seconds = 0.0
  public init() {}
}

/// RIAD training (paper Algorithm 2, with the choices of SPEC section 5).
public enum Training {
  /// One optimisation step on batch `x`: n masks of cell size k shared by the
  /// batch, the composed inpainting, the RIAD loss, backward, then the
  /// optimizer. A non-finite loss throws before any parameter changes, and
  /// batch norm's running statistics are restored.
  @discardableResult
  public static func step(_ net: UNet, _ opt: Optimizer, _ x: Tensor, k: Int, n: Int,
                          using rng: inout RandomGenerator) throws -> Float {
    guard x.rank == 4 else { throw TensorError("train_step: x must be a batch [N,C,H,W], got \(x.shape.shapeString)") }
    net.training = true
    let buffers = net.namedTensors.filter { !$0.trainable }
    let saved = buffers.map { $0.tensor.data }
    let masks = try Masks.make(height: x.shape[2], width: x.shape[3], k: k, n: n, using: &rng)
    let r = try Inpainting.inpaint(net, x, masks)
    let loss = try Losses.riadLoss(x, r)
    let value = loss.data[0]
    guard value.isFinite else {
      for (b, d) in zip(buffers, saved) { b.tensor.assign(d) }
      throw TensorError("train_step: the loss is \(value) (not finite); the model was left unchanged — try a lower learning rate")
    }
    opt.zeroGrad()
    try loss.backward()
    opt.step()
    return value
  }

  /// Trains for `epochs` passes over `data` `[N,C,H,W]` in shuffled batches.
  /// Each batch draws its k uniformly from `ks`. `shouldStop` is polled
  /// between steps; when it answers yes the history so far comes back,
  /// marked interrupted (every step done is whole). `progress` is called
  /// after each step.
  ///
  /// The run's place (generator, epochs, the order of an unfinished epoch)
  /// is kept in `opt.run` after every step. An optimizer whose run was
  /// started with the same seed continues it: training 10 epochs and then
  /// 10 more, in one process or across a training checkpoint, gives the
  /// weights of 20 epochs in one call.
  public static func train(_ net: UNet, _ opt: Optimizer, data: Tensor, epochs: Int, batch: Int,
                           ks: [Int], n: Int, seed: UInt64,
                           shouldStop: () -> Bool = { false },
                           progress: (TrainingProgress) throws -> Void = { _ in }) throws -> TrainingHistory {
    guard data.rank == 4, data.shape[0] > 0 else { throw TensorError("train: data must be a non-empty [N,C,H,W] tensor, got \(data.shape.shapeString)") }
    guard epochs >= 0 else { throw TensorError("train: epochs must be ≥ 0, got \(epochs)") }
    guard batch >= 1 else { throw TensorError("train: batch must be ≥ 1, got \(batch)") }
    guard !ks.isEmpty else { throw TensorError("train: ks must name at least one cell size") }
    let count = data.shape[0]
    let steps = (count + batch - 1) / batch
    var run = opt.run.flatMap { $0.seed == seed ? $0 : nil } ?? TrainingRun(seed: seed, generator: RandomGenerator(seed: seed).state)
    guard var rng = RandomGenerator(state: run.generator) else { throw TensorError("train: the optimizer's run has an unreadable generator state") }
    if let order = run.order, order.count != count || run.epochStep > steps {
      throw TensorError("train: the optimizer's run stopped inside an epoch over \(order.count) images; data has \(count) (continue with the same data and batch, or give another seed to start a new run)")
    }
    let skipped = run.order == nil ? 0 : run.epochStep  // batches of an unfinished epoch done before
    var history = TrainingHistory()
    let start = Date()
    for epoch in 0..<epochs {
      let t0 = Date()
      let order = run.order ?? rng.permutation(count)
      let first = run.order == nil ? 0 : run.epochStep
      run.order = order
      var sum = 0.0
      for s in first..<steps {
        if shouldStop() {
          history.interrupted = true
          history.seconds = Date().timeIntervalSince(start)
          return history
        }
        let idx = Array(order[(s * batch)..<min(count, (s + 1) * batch)])
        let x = try gatherRows(data, idx)
        let k = ks[rng.nextInt(below: ks.count)]
        let loss = try step(net, opt, x, k: k, n: n, using: &rng)
        (run.generator, run.epochStep, run.steps) = (rng.state, s + 1, run.steps + 1)
        opt.run = run
        sum += Double(loss)
        history.stepLoss.append(Double(loss))
        try progress(TrainingProgress(epoch: epoch + 1, epochs: epochs, step: s + 1, steps: steps,
                                      globalStep: history.stepLoss.count, totalSteps: epochs * steps - skipped,
                                      loss: Float(sum / Double(s + 1 - first)), stepLoss: loss, elapsed: Date().timeIntervalSince(start)))
      }
      (run.generator, run.epochs, run.epochStep, run.order) = (rng.state, run.epochs + 1, 0, nil)
      opt.run = run
      history.epochLoss.append(sum / Double(steps - first))
      history.epochSeconds.append(Date().timeIntervalSince(t0))
      history.epochs = epoch + 1
    }
    history.seconds = Date().timeIntervalSince(start)
    return history
  }

  /// Rows `idx` of a batch tensor, in that order.
  public static func gatherRows(_ t: Tensor, _ idx: [Int]) throws -> Tensor {
    let row = t.count / max(t.shape[0], 1)
    var out = [Float](); out.reserveCapacity(idx.count * row)
    for i in idx { out.append(contentsOf: t.data[(i * row)..<((i + 1) * row)]) }
    var s = t.shape; s[0] = idx.count
    return Tensor(shape: s, data: out)
  }

  /// The RIAD evaluation of one category: anomaly maps of every test image
  /// (in batches), image scores, image AUROC, and pixel AUROC, pixel AP and
  /// AUPRO over all pixels of all test images.
  public static func evaluate(_ net: UNet, test: Tensor, labels: Tensor, masks: Tensor,
                              ks: [Int], n: Int, smooth: Int?, draws: Int, seed: UInt64,
                              batch: Int = 8, shouldStop: () -> Bool = { false },
                              progress: (_ done: Int, _ total: Int, _ elapsed: Double) -> Void = { _, _, _ in })
    throws -> (imageAUROC: Double, pixelAUROC: Double, pixelAP: Double, aupro: Double, scores: Tensor, maps: Tensor, seconds: Double) {
    let t0 = Date()
    let m = test.shape[0]
    var maps: [Tensor] = []
    for s in stride(from: 0, to: m, by: batch) {
      if shouldStop() { throw TrainingInterrupted(completedSteps: s) }
      let x = try gatherRows(test, Array(s..<min(m, s + batch)))
      maps.append(try Inpainting.anomalyMap(net, x, ks: ks, n: n, smooth: smooth, draws: draws, seed: seed &+ UInt64(s)))
      progress(min(m, s + batch), m, Date().timeIntervalSince(t0))
    }
    let all = try Tensor.cat(maps, dim: 0)
    let scores = try Inpainting.scores(all)
    let imageAUROC = try Metrics.auroc(scores.data, labels.data)
    let binary = masks.data.map { $0 > 0.5 ? Float(1) : 0 }
    let (pixelAUROC, pixelAP) = try Metrics.aurocAndAveragePrecision(all.data, binary)
    let aupro = try Metrics.aupro(maps: all, masks: Tensor(shape: masks.shape, data: binary))
    return (imageAUROC, pixelAUROC, pixelAP, aupro, scores, all, Date().timeIntervalSince(t0))
  }
}
