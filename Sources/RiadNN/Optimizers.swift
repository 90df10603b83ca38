import Foundation
import RiadTensor

/// What `step` and `zero_grad` need of an optimizer.
public protocol Optimizer: AnyObject {
  var parameters: [Tensor] { get }
  var learningRate: Float { get set }
  var kind: String { get }
  func step()
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
  var m: [[Float]], v: [[Float]]
  public var kind: String { "adam" }

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
  public var kind: String { "sgd" }

  public init(_ parameters: [Tensor], lr: Float, momentum: Float = 0, weightDecay: Float = 0) {
    self.parameters = parameters
    learningRate = lr
    self.momentum = momentum
    self.weightDecay = weightDecay
    velocity = parameters.map { [Float](repeating: 0, count: $0.count) }
  }

  public func step() {
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
