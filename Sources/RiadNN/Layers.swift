import RiadTensor

/// A named tensor a model owns: a trainable parameter or a buffer (such as
/// batch norm's running statistics), named as PyTorch's `state_dict` names it.
public struct NamedTensor {
  public let name: String
  public let tensor: Tensor
  public let trainable: Bool
}

/// PyTorch's default initialisation for conv layers: kaiming-uniform with
/// a = √5, i.e. U(−1/√fan_in, 1/√fan_in) for weights and bias alike.
func uniformInit(_ shape: [Int], fanIn: Int, _ rng: inout RandomGenerator) -> Tensor {
  let bound = 1 / Float(fanIn).squareRoot()
  return Tensor(shape: shape, data: (0..<shape.product).map { _ in (rng.nextUniform() * 2 - 1) * bound })
}

/// A layer with a weight and a bias, both trainable, named as PyTorch names them.
protocol WeightAndBias {
  var weight: Tensor { get }
  var bias: Tensor { get }
}

extension WeightAndBias {
  func tensors(_ prefix: String) -> [NamedTensor] {
    [NamedTensor(name: prefix + ".weight", tensor: weight, trainable: true),
     NamedTensor(name: prefix + ".bias", tensor: bias, trainable: true)]
  }
}

/// `y = conv2d(x, weight, bias)`; weight `[out, in, k, k]`.
public final class Conv2d: WeightAndBias {
  public let weight: Tensor, bias: Tensor
  public let stride: Int, padding: Int

  public init(_ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
              rng: inout RandomGenerator) {
    let fanIn = cin * kernel * kernel
    weight = uniformInit([cout, cin, kernel, kernel], fanIn: fanIn, &rng).asParameter()
    bias = uniformInit([cout], fanIn: fanIn, &rng).asParameter()
    self.stride = stride
    self.padding = padding
  }

  public func callAsFunction(_ x: Tensor) throws -> Tensor {
    try Tensor.conv2d(x, weight, bias, stride: stride, padding: padding)
  }
}

/// `y = conv_transpose2d(x, weight, bias)`; weight `[in, out, k, k]`.
public final class ConvTranspose2d: WeightAndBias {
  public let weight: Tensor, bias: Tensor
  public let stride: Int, padding: Int

  public init(_ cin: Int, _ cout: Int, kernel: Int, stride: Int, padding: Int,
              rng: inout RandomGenerator) {
    // PyTorch computes fan_in from weight.size(1) · k·k for transposed convs.
    let fanIn = cout * kernel * kernel
    weight = uniformInit([cin, cout, kernel, kernel], fanIn: fanIn, &rng).asParameter()
    bias = uniformInit([cout], fanIn: fanIn, &rng).asParameter()
    self.stride = stride
    self.padding = padding
  }

  public func callAsFunction(_ x: Tensor) throws -> Tensor {
    try Tensor.convTranspose2d(x, weight, bias, stride: stride, padding: padding)
  }
}

/// Batch norm with affine weight and bias and running statistics
/// (eps 1e-5, momentum 0.1, as `torch.nn.BatchNorm2d`).
public final class BatchNorm2d {
  public let weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor

  public init(_ channels: Int) {
    weight = Tensor.ones([channels]).asParameter()
    bias = Tensor.zeros([channels]).asParameter()
    runningMean = Tensor.zeros([channels])
    runningVar = Tensor.ones([channels])
  }

  /// `relu` fuses the ReLU that follows every batch norm in the U-Net.
  public func callAsFunction(_ x: Tensor, training: Bool, relu: Bool = false) throws -> Tensor {
    try Tensor.batchNorm(x, weight: weight, bias: bias, runningMean: runningMean,
                         runningVar: runningVar, training: training, relu: relu)
  }

  func tensors(_ prefix: String) -> [NamedTensor] {
    [NamedTensor(name: prefix + ".weight", tensor: weight, trainable: true),
     NamedTensor(name: prefix + ".bias", tensor: bias, trainable: true),
     NamedTensor(name: prefix + ".running_mean", tensor: runningMean, trainable: false),
     NamedTensor(name: prefix + ".running_var", tensor: runningVar, trainable: false)]
  }
}
