import Foundation
import RiadTensor

/// What `step` and `zero_grad` need of an optimizer, and what a training
/// checkpoint needs to resume it exactly.
public protocol Optimizer: AnyObject {
  var parameters: [Tensor] { get }
  var learningRate: Float { get set }
  var kind: String { get }
  func step()
  /// The hyperparameters and step count (PyTorch's `param_groups` and `step`).
  var settings: OptimizerSettings { get }
  /// Per-parameter state by PyTorch's names (`exp_avg`, `exp_avg_sq`,
  /// `momentum_buffer`), one array per parameter, in `parameters` order.
  var buffers: [(name: String, values: [[Float]])] { get }
  /// Puts back what `settings` and `buffers` gave; the shapes were checked by the caller.
  func restore(_ settings: OptimizerSettings, buffers: [String: [[Float]]]) throws
  /// The training run this optimizer is part of, so that `train` can continue it.
  var run: TrainingRun? { get set }
}

/// What an optimizer's checkpoint records besides its buffers.
public struct OptimizerSettings: Codable, Equatable {
  public var kind: String
  public var lr: Float
  public var betas: [Float]? = nil
  public var eps: Float? = nil
  public var momentum: Float? = nil
  public var weightDecay: Float
  public var step: Int
  /// The model's names of the parameters, in the optimizer's order (filled in by checkpoints).
  public var params: [String]? = nil
  enum CodingKeys: String, CodingKey { case kind, lr, betas, eps, momentum, weightDecay = "weight_decay", step, params }
}

/// Where a training run stands, so that it can be continued exactly: the
/// seed it was started with, the generator after the last completed step,
/// the epochs completed, and, when it stopped inside an epoch, that epoch's
/// order of the data and how many of its batches are done.
public struct TrainingRun: Codable, Equatable {
  public var seed: UInt64
  public var generator: String
  public var epochs: Int
  public var steps: Int
  public var epochStep: Int = 0
  public var order: [Int]? = nil
  public init(seed: UInt64, generator: String, epochs: Int = 0, steps: Int = 0) {
    self.seed = seed; self.generator = generator; self.epochs = epochs; self.steps = steps
  }
  enum CodingKeys: String, CodingKey { case seed, generator, epochs, steps, epochStep = "epoch_step", order }
}

extension Optimizer {
  /// Forgets the gradients of the last backward pass.
  public func zeroGrad() { for p in parameters { p.grad = nil } }
}

/// torch.optim.Adam: weight decay is added to the gradient (L2, not AdamW);
/// bias-corrected moments; `p ← p − lr·m̂/(√v̂ + eps)`.
public final class Adam: Optimizer {
  public let parameters: [Tensor]
  public var learningRate: Float
  public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float
  public private(set) var steps = 0
  /// The first and second moments of every parameter (PyTorch's exp_avg, exp_avg_sq).
  public private(set) var m: [[Float]], v: [[Float]]
  public var kind: String { "adam" }
  public var run: TrainingRun?

  public init(_ parameters: [Tensor], lr: Float = 1e-4, betas: (Float, Float) = (0.9, 0.999),
              eps: Float = 1e-8, weightDecay: Float = 0) {
    self.parameters = parameters
    learningRate = lr
    (beta1, beta2) = betas
    self.eps = eps
    self.weightDecay = weightDecay
    m = parameters.map { [Float](repeating: 0, count: $0.count) }
    v = m
  }

  public var settings: OptimizerSettings {
    OptimizerSettings(kind: kind, lr: learningRate, betas: [beta1, beta2], eps: eps, weightDecay: weightDecay, step: steps)
  }
  public var buffers: [(name: String, values: [[Float]])] { [("exp_avg", m), ("exp_avg_sq", v)] }

  public func restore(_ s: OptimizerSettings, buffers: [String: [[Float]]]) throws {
    guard s.kind == kind, let betas = s.betas, betas == [beta1, beta2], s.eps == eps, s.weightDecay == weightDecay else {
      throw TensorError("the checkpoint's optimizer (\(s.kind), betas \(s.betas ?? []), weight_decay \(s.weightDecay)) is not this Adam (betas [\(beta1), \(beta2)], weight_decay \(weightDecay))")
    }
    guard let m = buffers["exp_avg"], let v = buffers["exp_avg_sq"] else {
      throw TensorError("the checkpoint has no Adam moments (exp_avg, exp_avg_sq)")
    }
    (self.m, self.v, steps, learningRate) = (m, v, s.step, s.lr)
  }

  public func step() {
    steps += 1
    let c1 = 1 - Foundation.pow(beta1, Float(steps)), c2 = 1 - Foundation.pow(beta2, Float(steps))
    let (b1, b2, lr, wd, eps) = (beta1, beta2, learningRate, weightDecay, self.eps)
    let sc2 = c2.squareRoot()
    for (i, p) in parameters.enumerated() {
      guard let g = p.grad else { continue }
      p.update { pp in
        g.data.withUnsafeBufferPointer { pg in
          m[i].withUnsafeMutableBufferPointer { pm in
            v[i].withUnsafeMutableBufferPointer { pv in
              // Large tensors in slices of 16 K elements across the threads.
              let slice = 1 << 14, count = pp.count
              parallelFor((count + slice - 1) / slice, cost: 8 * slice) { part in
                for k in (part * slice)..<min(count, (part + 1) * slice) {
                  let grad = pg[k] + wd * pp[k]
                  pm[k] = b1 * pm[k] + (1 - b1) * grad
                  pv[k] = b2 * pv[k] + (1 - b2) * grad * grad
                  // PyTorch: p -= lr/c1 · m / (√v/√c2 + eps)
                  pp[k] -= (lr / c1) * pm[k] / (pv[k].squareRoot() / sc2 + eps)
                }
              }
            }
          }
        }
      }
    }
  }
}

/// torch.optim.SGD with optional momentum and weight decay.
public final class SGD: Optimizer {
  public let parameters: [Tensor]
  public var learningRate: Float
  public let momentum: Float, weightDecay: Float
  var velocity: [[Float]]
  var steps = 0
  public var kind: String { "sgd" }
  public var run: TrainingRun?

  public var settings: OptimizerSettings {
    OptimizerSettings(kind: kind, lr: learningRate, momentum: momentum, weightDecay: weightDecay, step: steps)
  }
  public var buffers: [(name: String, values: [[Float]])] { [("momentum_buffer", velocity)] }

  public func restore(_ s: OptimizerSettings, buffers: [String: [[Float]]]) throws {
    guard s.kind == kind, s.momentum == momentum, s.weightDecay == weightDecay, let v = buffers["momentum_buffer"] else {
      throw TensorError("the checkpoint's optimizer (\(s.kind), momentum \(s.momentum ?? 0)) is not this SGD (momentum \(momentum))")
    }
    (velocity, steps, learningRate) = (v, s.step, s.lr)
  }

  public init(_ parameters: [Tensor], lr: Float, momentum: Float = 0, weightDecay: Float = 0) {
    self.parameters = parameters
    learningRate = lr
    self.momentum = momentum
    self.weightDecay = weightDecay
    velocity = parameters.map { [Float](repeating: 0, count: $0.count) }
  }

  public func step() {
    steps += 1
    for (i, p) in parameters.enumerated() {
      guard let g = p.grad else { continue }
      p.update { pp in
        for k in 0..<pp.count {
          var d = g.data[k] + weightDecay * pp[k]
          if momentum != 0 { velocity[i][k] = momentum * velocity[i][k] + d; d = velocity[i][k] }
          pp[k] -= learningRate * d
        }
      }
    }
  }
}
