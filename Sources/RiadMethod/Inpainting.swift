import RiadNN
import RiadTensor

/// Reconstruction by inpainting and the anomaly map built on it.
public enum Inpainting {
  /// `Σᵢ (1 − Mᵢ) ⊙ net(x ⊙ Mᵢ)`: every pixel comes from the copy in which it
  /// was hidden. In train mode each copy is its own forward pass (its own
  /// batch statistics); in eval mode the n copies run as one batch.
  public static func inpaint(_ net: UNet, _ x: Tensor, _ masks: Tensor) throws -> Tensor {
    guard x.rank == 4 else { throw TensorError("inpaint: x must be [N,C,H,W], got \(x.shape.shapeString)") }
    guard masks.rank == 4, masks.shape[1] == 1, masks.shape[2] == x.shape[2], masks.shape[3] == x.shape[3] else {
      throw TensorError("inpaint: masks must be [n,1,\(x.shape[2]),\(x.shape[3])] for x \(x.shape.shapeString), got \(masks.shape.shapeString)")
    }
    let n = masks.shape[0]
    let ms = try (0..<n).map { try masks.indexed([.slice(start: $0, stop: $0 + 1, step: 1)]) }
    if net.training {
      var r: Tensor? = nil
      for m in ms {
        let part = try (1 - m) * net(x * m)
        r = try r.map { try $0 + part } ?? part
      }
      return r!
    }
    let b = x.shape[0]
    let out = try net(Tensor.cat(ms.map { try x * $0 }, dim: 0))
    var r: Tensor? = nil
    for (i, m) in ms.enumerated() {
      let part = try (1 - m) * out.indexed([.slice(start: i * b, stop: (i + 1) * b, step: 1)])
      r = try r.map { try $0 + part } ?? part
    }
    return r!
  }

  /// The default smoothing window: 21 at 256 pixels, scaled with the image
  /// side to the nearest odd number ≥ 3.
  public static func smoothSize(_ side: Int) -> Int {
    var s = Int((21 * Double(side) / 256).rounded(.toNearestOrEven))
    if s % 2 == 0 { s += 1 }
    return max(3, s)
  }

  /// The RIAD anomaly map of a batch `[N,C,H,W]` → `[N,1,H,W]`: for each k,
  /// `draws` random partitions, each composed and compared with the input by
  /// MSGMS; the plain mean over k and draws; then the border-aware mean filter.
  public static func anomalyMap(_ net: UNet, _ x: Tensor, ks: [Int] = [2, 4, 8, 16], n: Int = 3,
                                smooth: Int? = nil, draws: Int = 1, seed: UInt64 = 0) throws -> Tensor {
    guard !ks.isEmpty else { throw TensorError("anomaly_map: ks must name at least one cell size") }
    guard draws >= 1 else { throw TensorError("anomaly_map: draws must be ≥ 1, got \(draws)") }
    let wasTraining = net.training
    net.training = false
    defer { net.training = wasTraining }
    let partitions = try anomalyMasks(height: x.shape[2], width: x.shape[3], ks: ks, n: n, draws: draws, seed: seed)
    return try withNoGrad {
      var sum: Tensor? = nil
      for (_, m) in partitions {
        let map = try Losses.msgms(x, try inpaint(net, x, m))
        sum = try sum.map { try $0 + map } ?? map
      }
      let mean = sum! / Float(ks.count * draws)
      let size = smooth ?? smoothSize(x.shape[2])
      return size <= 1 ? mean : try mean.meanFilter(size)
    }
  }

  /// The partitions `anomalyMap` draws with this seed, in its order: for
  /// each k, `draws` sets of n masks `[n,1,H,W]`.
  public static func anomalyMasks(height: Int, width: Int, ks: [Int], n: Int, draws: Int, seed: UInt64) throws -> [(k: Int, masks: Tensor)] {
    var rng = RandomGenerator(seed: seed)
    var out: [(k: Int, masks: Tensor)] = []
    for k in ks {
      for _ in 0..<draws { out.append((k, try Masks.make(height: height, width: width, k: k, n: n, using: &rng))) }
    }
    return out
  }

  /// The image score: the maximum of each map, `[N]`.
  public static func scores(_ maps: Tensor) throws -> Tensor {
    let n = maps.rank >= 3 ? maps.shape[0] : 1
    return try maps.reshaped([n, -1]).max(dim: 1)
  }
}
