/// Reverse-mode automatic differentiation.
///
/// Every differentiable op that sees an input which requires gradients records
/// a `GradNode`: the op's name, its inputs, and its vector–Jacobian product
/// (given the gradient of the output, the gradients of the inputs). The
/// recorded nodes form the tape; `backward` walks it in reverse topological
/// order and accumulates (`+=`) into the `grad` of every leaf that requires it.
/// The derivative rules sit next to each op's forward code, in a `record` call.
final class GradNode {
  let op: String
  let inputs: [Tensor]
  let vjp: (Tensor) -> [Tensor?]

  init(op: String, inputs: [Tensor], vjp: @escaping (Tensor) -> [Tensor?]) {
    self.op = op
    self.inputs = inputs
    self.vjp = vjp
  }
}

/// Whether ops record the tape. `withNoGrad` turns it off for a closure.
public enum GradMode {
  nonisolated(unsafe) public static var isEnabled = true
}

/// Runs `body` without recording gradients (PyTorch's `torch.no_grad()`).
public func withNoGrad<T>(_ body: () throws -> T) rethrows -> T {
  let saved = GradMode.isEnabled
  GradMode.isEnabled = false
  defer { GradMode.isEnabled = saved }
  return try body()
}

extension Tensor {
  /// The name of the op that produced this tensor, if autograd recorded it.
  public var gradOp: String? { node?.op }

  /// Attaches the op's derivative rule to `output` when any input needs it.
  @discardableResult
  func record(_ op: String, _ inputs: [Tensor], _ vjp: @escaping (Tensor) -> [Tensor?]) -> Tensor {
    guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return self }
    requiresGrad = true
    node = GradNode(op: op, inputs: inputs, vjp: vjp)
    return self
  }

  /// Back-propagates from this tensor. A scalar gets a seed of 1; otherwise
  /// pass `gradient` with this tensor's shape.
  public func backward(_ gradient: Tensor? = nil) throws {
    guard requiresGrad else {
      throw TensorError("backward: the tensor does not depend on any parameter (use param(t))")
    }
    let seed: Tensor
    if let gradient {
      guard gradient.shape == shape else {
        throw TensorError("backward: gradient shape \(gradient.shape.shapeString) does not match \(shape.shapeString)")
      }
      seed = gradient
    } else {
      guard count == 1 else {
        throw TensorError("backward: expected a scalar loss, got shape \(shape.shapeString)")
      }
      seed = Tensor(shape: shape, repeating: 1)
    }
    try withNoGrad {
      var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
      for t in topologicalOrder().reversed() {
        guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
        guard let node = t.node else {
          if let old = t.grad { t.grad = try old.adding(g) } else { t.grad = g.copy() }
          continue
        }
        let inputGrads = node.vjp(g)
        for (input, ig) in zip(node.inputs, inputGrads) {
          guard input.requiresGrad, let ig else { continue }
          let key = ObjectIdentifier(input)
          if let acc = grads[key] { grads[key] = try acc.adding(ig) } else { grads[key] = ig }
        }
      }
    }
  }

  /// Tensors reachable from this one through recorded nodes, inputs first.
  func topologicalOrder() -> [Tensor] {
    var order: [Tensor] = []
    var seen = Set<ObjectIdentifier>()
    var stack: [(Tensor, Bool)] = [(self, false)]
    while let (t, expanded) = stack.popLast() {
      if expanded { order.append(t); continue }
      guard seen.insert(ObjectIdentifier(t)).inserted else { continue }
      stack.append((t, true))
      for input in t.node?.inputs ?? [] where input.requiresGrad {
        if !seen.contains(ObjectIdentifier(input)) { stack.append((input, false)) }
      }
    }
    return order
  }

  /// Elementwise sum of two same-shape tensors, without recording.
  func adding(_ other: Tensor) throws -> Tensor {
    guard shape == other.shape else {
      throw TensorError("gradient shape \(other.shape.shapeString) does not match \(shape.shapeString)")
    }
    var out = data
    other.data.withUnsafeBufferPointer { b in
      out.withUnsafeMutableBufferPointer { o in
        for i in 0..<o.count { o[i] += b[i] }
      }
    }
    return Tensor(shape: shape, data: out)
  }
}
