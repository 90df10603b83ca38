import Foundation

/// A dense, row-major, float32 n-d array that can take part in reverse-mode
/// autograd.
///
/// Storage is always contiguous: views such as `permute` or slices copy. A
/// tensor is a reference type so that index assignment and the in-place
/// running-statistics update of batch norm are visible to every holder, as in
/// PyTorch.
///
/// Every write into an existing tensor goes through `update`, `assign` or
/// index assignment, and each bumps `version`; autograd records the version
/// of every tensor a derivative rule will read, and `backward` refuses to use
/// a rule whose tensors changed since (PyTorch's "modified by an inplace
/// operation"), so an in-place write can never produce a wrong gradient.
public final class Tensor {
  /// The extent of each dimension; `[]` is a scalar.
  public internal(set) var shape: [Int]
  /// The elements in row-major order; `data.count == shape.product`.
  /// Other modules write through `update` or `assign`, which count the write.
  public internal(set) var data: [Float]
  /// How many in-place writes this tensor has had.
  public internal(set) var version = 0
  /// Whether gradients flow into this tensor (a parameter or a result of one).
  public var requiresGrad: Bool
  /// The accumulated gradient of the last `backward` for a leaf that requires it.
  public var grad: Tensor?
  /// How this tensor was computed, when autograd recorded it.
  var node: GradNode?

  public init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in \(shape)")
    precondition(shape.reduce(1, *) == data.count,
                 "shape \(shape) needs \(shape.reduce(1, *)) values, got \(data.count)")
    self.shape = shape
    self.data = data
    self.requiresGrad = requiresGrad
  }

  /// A tensor of `shape` whose elements are all `value`.
  public convenience init(shape: [Int], repeating value: Float) {
    self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)))
  }

  public convenience init(scalar: Float) { self.init(shape: [], data: [scalar]) }

  public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }
  public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }
  public static func full(_ shape: [Int], _ value: Float) -> Tensor {
    Tensor(shape: shape, repeating: value)
  }
  /// `[0, 1, …, n-1]`.
  public static func arange(_ n: Int) -> Tensor {
    Tensor(shape: [n], data: (0..<n).map(Float.init))
  }
  /// Uniform values in [0, 1) from `generator`.
  public static func rand(_ shape: [Int], using generator: inout RandomGenerator) -> Tensor {
    let n = shape.reduce(1, *)
    return Tensor(shape: shape, data: (0..<n).map { _ in generator.nextUniform() })
  }
  /// Standard normal values from `generator` (Box–Muller).
  public static func randn(_ shape: [Int], using generator: inout RandomGenerator) -> Tensor {
    let n = shape.reduce(1, *)
    return Tensor(shape: shape, data: (0..<n).map { _ in generator.nextNormal() })
  }

  /// The number of elements.
  public var count: Int { data.count }
  /// The number of dimensions.
  public var rank: Int { shape.count }

  /// The single value of a one-element tensor.
  public func item() throws -> Float {
    guard data.count == 1 else {
      throw TensorError("item: expected a tensor with one element, got shape \(shape.shapeString)")
    }
    return data[0]
  }

  /// A copy that shares no storage and records no history.
  public func copy() -> Tensor { Tensor(shape: shape, data: data) }

  /// This tensor's values, cut off from the autograd graph.
  public func detached() -> Tensor { copy() }

  /// Marks this tensor as a leaf that records gradients.
  @discardableResult
  public func asParameter() -> Tensor {
    requiresGrad = true
    node = nil
    return self
  }

  /// Replaces the values in place (shape must match); used by optimizers and loaders.
  public func assign(_ values: [Float]) {
    precondition(values.count == data.count)
    data = values
    version &+= 1
  }

  /// Writes the elements in place through `body` (optimizer steps, running
  /// statistics, generators); counts as one write.
  public func update<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
    version &+= 1
    return try data.withUnsafeMutableBufferPointer { try body($0) }
  }
}

extension Array where Element == Int {
  /// The product of the extents, i.e. the element count of a shape.
  public var product: Int { reduce(1, *) }
  /// `[2, 3, 4]`, the way shapes appear in messages.
  public var shapeString: String { "[" + map(String.init).joined(separator: ", ") + "]" }
}

/// A user-facing error from a tensor operation: wrong shapes, bad arguments.
public struct TensorError: Error, CustomStringConvertible {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
