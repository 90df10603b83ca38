import Foundation
import RiadTensor

/// The RIAD losses and comparison maps, composed of differentiable ops so
/// that autograd derives their gradients. Inputs are `[N,C,H,W]` in [0,1].
public enum Losses {
  /// GMS stabilising constant: 170/255², GMSD's T for 8-bit images in [0,1].
  public static let gmsC: Float = 0.0026

  static func checkPair(_ a: Tensor, _ b: Tensor, _ op: String) throws {
    guard a.rank == 4, a.shape == b.shape else {
      throw TensorError("\(op): expected two [N,C,H,W] tensors of the same shape, got \(a.shape.shapeString) and \(b.shape.shapeString)")
    }
  }

  /// Prewitt/3 kernels, [2, 1, 3, 3]: h_x then h_y = h_xᵀ.
  static let prewitt = Tensor(shape: [2, 1, 3, 3], data: [
    1, 0, -1, 1, 0, -1, 1, 0, -1,
    1, 1, 1, 0, 0, 0, -1, -1, -1,
  ].map { $0 / 3 })

  /// Gradient magnitude of the channel mean: √((x∗h_x)² + (x∗h_y)² + 1e-12),
  /// zero padding 1, `[N,1,H,W]`.
  static func gradientMagnitude(_ x: Tensor) throws -> Tensor {
    let gray = try x.mean(dim: 1, keepDim: true)
    let g = try Tensor.conv2d(gray, prewitt, nil, stride: 1, padding: 1)
    return (try g.square().sum(dim: 1, keepDim: true) + 1e-12).sqrt()
  }

  /// Gradient magnitude similarity `(2·g_a·g_b + c) / (g_a² + g_b² + c)`, `[N,1,H,W]`.
  public static func gms(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    try checkPair(a, b, "gms")
    let ga = try gradientMagnitude(a), gb = try gradientMagnitude(b)
    let num = try ga * gb * 2 + gmsC
    let den = try ga.square() + gb.square() + gmsC
    return try num / den
  }

  /// The multi-scale GMS map: 1 − mean over `scales` (2×2 average pooling
  /// between them) of each scale's GMS, bilinearly upsampled to H×W.
  public static func msgms(_ a: Tensor, _ b: Tensor, scales: Int = 4) throws -> Tensor {
    try checkPair(a, b, "msgms")
    guard scales >= 1 else { throw TensorError("msgms: scales must be ≥ 1, got \(scales)") }
    let (h, w) = (a.shape[2], a.shape[3])
    guard h >> (scales - 1) >= 1, w >> (scales - 1) >= 1 else {
      throw TensorError("msgms: a \(h)×\(w) image is too small for \(scales) scales")
    }
    var (x, y) = (a, b)
    var sum: Tensor? = nil
    for s in 0..<scales {
      if s > 0 { x = try x.avgPool2d(2); y = try y.avgPool2d(2) }
      var m = try gms(x, y)
      if s > 0 { m = try m.upsample(to: (h, w)) }
      sum = try sum.map { try $0 + m } ?? m
    }
    return 1 - sum! / Float(scales)
  }

  /// The normalised 1-D Gaussian of `size` taps.
  static func gaussian(_ size: Int, _ sigma: Float) -> [Float] {
    let g = (0..<size).map { i -> Float in
      let x = Float(i - size / 2)
      return Foundation.exp(-x * x / (2 * sigma * sigma))
    }
    let s = g.reduce(0, +)
    return g.map { $0 / s }
  }

  /// The SSIM map per channel: Gaussian window, zero padding, C1 = 0.01²,
  /// C2 = 0.03², `[N,C,H,W]`.
  public static func ssimMap(_ a: Tensor, _ b: Tensor, window: Int = 11, sigma: Float = 1.5) throws -> Tensor {
    try checkPair(a, b, "ssim")
    guard window >= 1, window % 2 == 1 else { throw TensorError("ssim: window must be a positive odd number, got \(window)") }
    let (n, c, h, w) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
    // One separable filter (the Gaussian window is g ⊗ g) smooths the five
    // statistics of every channel at once.
    let statistics = try Tensor.cat([a, b, a.square(), b.square(), a * b], dim: 0)
    let f = try statistics.separableFilter(gaussian(window, sigma)).reshaped([5, n, c, h, w])
    func part(_ i: Int) throws -> Tensor { try f.indexed([.at(i)]) }
    let (muA, muB, aa, bb, ab) = (try part(0), try part(1), try part(2), try part(3), try part(4))
    let c1: Float = 0.01 * 0.01, c2: Float = 0.03 * 0.03
    let muAB = try muA * muB
    let varA = try aa - muA.square(), varB = try bb - muB.square(), cov = try ab - muAB
    let num = try (muAB * 2 + c1) * (cov * 2 + c2)
    let den = try (muA.square() + muB.square() + c1) * (varA + varB + c2)
    return try num / den
  }

  /// The mean of the SSIM map.
  public static func ssim(_ a: Tensor, _ b: Tensor, window: Int = 11, sigma: Float = 1.5) throws -> Tensor {
    try ssimMap(a, b, window: window, sigma: sigma).mean()
  }

  /// Mean squared error.
  public static func mse(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    guard a.shape == b.shape else {
      throw TensorError("mse: shapes differ: \(a.shape.shapeString) and \(b.shape.shapeString)")
    }
    return try (a - b).square().mean()
  }

  /// The RIAD training loss: λ_G·mean(MSGMS map) + λ_S·mean(1 − SSIM map) + L2.
  public static func riadLoss(_ x: Tensor, _ r: Tensor, lambdaG: Float = 1, lambdaS: Float = 1) throws -> Tensor {
    let g = try msgms(x, r).mean()
    let s = try (1 - ssimMap(x, r)).mean()
    return try g * lambdaG + s * lambdaS + mse(x, r)
  }
}
