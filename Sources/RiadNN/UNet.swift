import Foundation
import RiadTensor

/// The arguments of `unet(...)`, stored in checkpoints as JSON.
public struct UNetConfig: Equatable, Codable {
  public var channels = 3
  public var base = 64
  public var depth = 5
  public var out = "sigmoid"

  public init(channels: Int = 3, base: Int = 64, depth: Int = 5, out: String = "sigmoid") {
    self.channels = channels; self.base = base; self.depth = depth; self.out = out
  }

  /// Level widths base·min(2^i, 8): 64, 128, 256, 512, 512 for base 64.
  public var widths: [Int] { (0..<depth).map { base * min(1 << $0, 8) } }

  public var json: String {
    "{\"channels\": \(channels), \"base\": \(base), \"depth\": \(depth), \"out\": \"\(out)\"}"
  }

  /// How the model reads in messages: `unet(channels: 3, base: 16, depth: 5)`.
  public var summary: String { "unet(channels: \(channels), base: \(base), depth: \(depth))" }

  public func validate() throws {
    guard channels >= 1 else { throw TensorError("unet: channels must be ≥ 1, got \(channels)") }
    guard base >= 1, base <= 1024 else { throw TensorError("unet: base must be 1 to 1024, got \(base)") }
    guard channels <= 64 else { throw TensorError("unet: channels must be 1 to 64, got \(channels)") }
    guard (2...8).contains(depth) else { throw TensorError("unet: depth must be 2 to 8, got \(depth)") }
    guard ["sigmoid", "tanh", "none"].contains(out) else {
      throw TensorError("unet: out must be \"sigmoid\", \"tanh\" or \"none\", got \"\(out)\"")
    }
  }
}

/// conv → BN → ReLU → conv3×3 → BN → ReLU. The first level's conv1 is 3×3
/// stride 1; deeper levels downsample with a 4×4 stride-2 conv1.
final class DownBlock {
  let conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d

  init(_ cin: Int, _ cout: Int, first: Bool, rng: inout RandomGenerator) {
    conv1 = first ? Conv2d(cin, cout, kernel: 3, stride: 1, padding: 1, rng: &rng)
                  : Conv2d(cin, cout, kernel: 4, stride: 2, padding: 1, rng: &rng)
    bn1 = BatchNorm2d(cout)
    conv2 = Conv2d(cout, cout, kernel: 3, padding: 1, rng: &rng)
    bn2 = BatchNorm2d(cout)
  }

  func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
    let h = try bn1(conv1(x), training: training, relu: true)
    return try bn2(conv2(h), training: training, relu: true)
  }

  func tensors(_ p: String) -> [NamedTensor] {
    conv1.tensors(p + ".conv1") + bn1.tensors(p + ".bn1") + conv2.tensors(p + ".conv2") + bn2.tensors(p + ".bn2")
  }
}

/// 4×4 stride-2 transposed conv up (no BN, no activation), concatenation
/// [up, skip], then two conv3×3 → BN → ReLU.
final class UpBlock {
  let upconv: ConvTranspose2d, conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d

  init(_ cin: Int, _ cout: Int, rng: inout RandomGenerator) {
    upconv = ConvTranspose2d(cin, cout, kernel: 4, stride: 2, padding: 1, rng: &rng)
    conv1 = Conv2d(2 * cout, cout, kernel: 3, padding: 1, rng: &rng)
    bn1 = BatchNorm2d(cout)
    conv2 = Conv2d(cout, cout, kernel: 3, padding: 1, rng: &rng)
    bn2 = BatchNorm2d(cout)
  }

  func callAsFunction(_ x: Tensor, skip: Tensor, training: Bool) throws -> Tensor {
    let up = try upconv(x)
    guard up.shape[2] == skip.shape[2], up.shape[3] == skip.shape[3] else {
      throw TensorError("unet: upsampled \(up.shape.shapeString) does not match skip \(skip.shape.shapeString); image sides must be divisible by 2^(depth-1)")
    }
    let h = try bn1(conv1(Tensor.cat([up, skip], dim: 1)), training: training, relu: true)
    return try bn2(conv2(h), training: training, relu: true)
  }

  func tensors(_ p: String) -> [NamedTensor] {
    upconv.tensors(p + ".upconv") + conv1.tensors(p + ".conv1") + bn1.tensors(p + ".bn1")
      + conv2.tensors(p + ".conv2") + bn2.tensors(p + ".bn2")
  }
}

/// The RIAD inpainting U-Net (the [PY] reference design, SPEC section 5):
/// `down1…downD`, `up1…up(D−1)` and `final`, with PyTorch state_dict names.
public final class UNet {
  public let config: UNetConfig
  let downs: [DownBlock]
  let ups: [UpBlock]
  let final: Conv2d
  /// Train mode uses batch statistics and updates the running ones.
  public var training = true

  public init(_ config: UNetConfig, rng: inout RandomGenerator) throws {
    try config.validate()
    self.config = config
    let w = config.widths
    downs = (0..<config.depth).map { i in
      DownBlock(i == 0 ? config.channels : w[i - 1], w[i], first: i == 0, rng: &rng)
    }
    ups = (0..<config.depth - 1).map { j in
      let i = config.depth - 1 - j
      return UpBlock(w[i], w[i - 1], rng: &rng)
    }
    final = Conv2d(w[0], config.channels, kernel: 3, padding: 1, rng: &rng)
  }

  /// `net(x)` for x `[N, channels, H, W]` with H, W divisible by 2^(depth−1).
  public func callAsFunction(_ x: Tensor) throws -> Tensor {
    guard x.rank == 4, x.shape[1] == config.channels else {
      throw TensorError("unet: expected input [N, \(config.channels), H, W], got \(x.shape.shapeString)")
    }
    let factor = 1 << (config.depth - 1)
    guard x.shape[2] % factor == 0, x.shape[3] % factor == 0 else {
      throw TensorError("unet: image sides must be divisible by \(factor) for depth \(config.depth), got \(x.shape[2])×\(x.shape[3])")
    }
    var skips: [Tensor] = []
    var h = x
    for block in downs {
      h = try block(h, training: training)
      skips.append(h)
    }
    h = skips.removeLast()
    for block in ups {
      h = try block(h, skip: skips.removeLast(), training: training)
    }
    let y = try final(h)
    switch config.out {
    case "sigmoid": return y.sigmoid()
    case "tanh": return (y.tanh() + 1) * 0.5  // [-1, 1] → [0, 1]
    default: return y
    }
  }

  /// Every parameter and buffer, in state_dict order.
  public var namedTensors: [NamedTensor] {
    downs.enumerated().flatMap { $1.tensors("down\($0 + 1)") }
      + ups.enumerated().flatMap { $1.tensors("up\($0 + 1)") }
      + final.tensors("final")
  }

  /// The trainable parameters.
  public var parameters: [Tensor] { namedTensors.filter(\.trainable).map(\.tensor) }

  public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
}
