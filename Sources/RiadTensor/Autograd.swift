/// Reverse-mode automatic differentiation.
///
/// Every differentiable op that sees an input which requires gradients records
/// a `GradNode`: the op's name, its inputs, where each input's gradient goes,
/// and its vector–Jacobian product (given the gradient of the output, the
/// gradients of the inputs). The recorded nodes form the tape; `backward`
/// walks it in reverse topological order and finally adds (`+=`) into the
/// `grad` of every leaf that requires it. The derivative rules sit next to
/// each op's forward code, in a `record` call.
///
/// In-place writes. A gradient edge points at the node that computed an input
/// *when the op was recorded*, not at the tensor object, so an index
/// assignment can give the tensor a new node (`assign`, whose edge leads to
/// the old one) without rerouting the gradients of ops recorded before it.
/// Each node also remembers the version of every tensor its rule reads; if
/// one was written since, `backward` stops with an error instead of using
/// the changed values.
final class GradNode {
  let op: String
  /// The op's inputs, kept alive for the rule to read.
  let inputs: [Tensor]
  /// Where the gradient of each input goes; nil for an input that needs none.
  let edges: [GradEdge?]
  /// The tensors the rule reads and their versions when it was recorded.
  let reads: [(tensor: Tensor, version: Int)]
  /// The output, when the rule reads it (weak: the output owns this node).
  weak var output: Tensor?
  let outputVersion: Int
  let vjp: (Tensor) -> [Tensor?]

  init(op: String, inputs: [Tensor], edges: [GradEdge?], reads: [Tensor], output: Tensor?,
       vjp: @escaping (Tensor) -> [Tensor?]) {
    self.op = op
    self.inputs = inputs
    self.edges = edges
    self.reads = reads.map { ($0, $0.version) }
    self.output = output
    outputVersion = output?.version ?? 0
    self.vjp = vjp
  }

  /// Throws when a tensor the rule reads was written after the op ran.
  func checkVersions() throws {
    let changed = reads.contains { $0.tensor.version != $0.version }
      || (output.map { $0.version != outputVersion } ?? false)
    guard changed else { return }
    throw TensorError("backward: '\(op)' needs values that were overwritten in place after it ran (an index assignment, step(opt) or an update), so its gradient cannot be computed; assign into a copy (y = x * 1) before the write, or compute the loss again")
  }
}

/// Where a gradient flows: into the node that computed a tensor, or into a leaf.
enum GradEdge {
  case node(GradNode)
  case leaf(Tensor)

  /// The edge of `t` as it is now, or nil when it needs no gradient.
  init?(_ t: Tensor) {
    guard t.requiresGrad else { return nil }
    self = t.node.map(GradEdge.node) ?? .leaf(t)
  }
}

/// Which tensors a derivative rule reads, so that in-place writes to them
/// can be detected.
public struct GradReads: OptionSet {
  public let rawValue: Int
  public init(rawValue: Int) { self.rawValue = rawValue }
  /// The op's inputs.
  public static let inputs = GradReads(rawValue: 1)
  /// The op's output.
  public static let output = GradReads(rawValue: 2)
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
  /// `reads` names what the rule reads besides the incoming gradient (the
  /// rules of `+`, `reshape` or `sum` read neither).
  @discardableResult
  func record(_ op: String, _ inputs: [Tensor], reads: GradReads = .inputs,
              _ vjp: @escaping (Tensor) -> [Tensor?]) -> Tensor {
    guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return self }
    requiresGrad = true
    node = GradNode(op: op, inputs: inputs, edges: inputs.map(GradEdge.init),
                    reads: reads.contains(.inputs) ? inputs : [],
                    output: reads.contains(.output) ? self : nil, vjp: vjp)
    return self
  }

  /// Back-propagates from this tensor. A scalar gets a seed of 1; otherwise
  /// pass `gradient` with this tensor's shape. Leaf gradients change only
  /// when the whole pass succeeds.
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
    var leafGrads: [(leaf: Tensor, grad: Tensor)] = []
    var leafIndex: [ObjectIdentifier: Int] = [:]
    func addLeaf(_ t: Tensor, _ g: Tensor) throws {
      if let i = leafIndex[ObjectIdentifier(t)] {
        leafGrads[i].grad = try leafGrads[i].grad.adding(g)
      } else {
        leafIndex[ObjectIdentifier(t)] = leafGrads.count
        leafGrads.append((t, g))
      }
    }
    try withNoGrad {
      guard let root = node else { try addLeaf(self, seed); return }
      var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seed]
      for n in GradNode.topologicalOrder(from: root).reversed() {
        guard let g = grads.removeValue(forKey: ObjectIdentifier(n)) else { continue }
        try n.checkVersions()
        for (edge, ig) in zip(n.edges, n.vjp(g)) {
          guard let edge, let ig else { continue }
          switch edge {
          case .leaf(let t): try addLeaf(t, ig)
          case .node(let m):
            let key = ObjectIdentifier(m)
            grads[key] = try grads[key].map { try $0.adding(ig) } ?? ig
          }
        }
      }
    }
    for (t, g) in leafGrads {
      // A rule may hand the same gradient object to several inputs: copy,
      // so that no two leaves share a grad tensor.
      t.grad = try t.grad.map { try $0.adding(g) } ?? g.copy()
    }
  }

  /// Elementwise sum of two same-shape tensors, without recording.
  func adding(_ other: Tensor) throws -> Tensor {
    guard shape == other.shape else {
      throw TensorError("gradient shape \(other.shape.shapeString) does not match \(shape.shapeString)")
    }
    // One pass: each element of the sum written once.
    let out = makeFloats(count) { o in
      data.withUnsafeBufferPointer { a in
        other.data.withUnsafeBufferPointer { b in
          for i in 0..<o.count { o[i] = a[i] + b[i] }
        }
      }
    }
    return Tensor(shape: shape, data: out)
  }
}

extension GradNode {
  /// The nodes reachable from `root` through node edges, inputs first.
  static func topologicalOrder(from root: GradNode) -> [GradNode] {
    var order: [GradNode] = []
    var seen = Set<ObjectIdentifier>()
    var stack: [(GradNode, Bool)] = [(root, false)]
    // Post-order DFS: a node is emitted after everything it leads to. A node
    // counts as seen when it is expanded, not when it is pushed, or a node
    // pushed early could be emitted before a sibling that also leads to it.
    while let (n, expanded) = stack.popLast() {
      if expanded { order.append(n); continue }
      guard seen.insert(ObjectIdentifier(n)).inserted else { continue }
      stack.append((n, true))
      for case .node(let m)? in n.edges where !seen.contains(ObjectIdentifier(m)) {
        stack.append((m, false))
      }
    }
    return order
  }
}
