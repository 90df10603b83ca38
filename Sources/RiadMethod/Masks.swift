import RiadTensor

/// RIAD's disjoint masks (paper Algorithm 1).
///
/// The image is cut into cells of k×k pixels (cells at the right and bottom
/// borders are clipped when k does not divide the side). One random
/// permutation of the cells is cut into n contiguous chunks whose sizes
/// differ by at most one: cell c belongs to set ⌊rank(c)·n / cells⌋. Mask i is
/// 0 on the cells of set i and 1 elsewhere, so every pixel is hidden in
/// exactly one of the n masks.
public enum Masks {
  /// `[n, 1, h, w]` masks of 0/1.
  public static func make(height h: Int, width w: Int, k: Int, n: Int,
                          using rng: inout RandomGenerator) throws -> Tensor {
    guard h >= 1, w >= 1, h <= 1 << 14, w <= 1 << 14 else { throw TensorError("masks: size must be 1 to 16384 pixels a side, got \(h)×\(w)") }
    guard k >= 1 else { throw TensorError("masks: k (the cell side in pixels) must be ≥ 1, got \(k)") }
    guard n >= 2, n <= 64 else { throw TensorError("masks: n (the number of masks) must be 2 to 64, got \(n)") }
    let gh = (h + k - 1) / k, gw = (w + k - 1) / k, cells = gh * gw
    let perm = rng.permutation(cells)
    var set = [Int](repeating: 0, count: cells)
    for (rank, cell) in perm.enumerated() { set[cell] = rank * n / cells }
    var data = [Float](repeating: 1, count: n * h * w)
    for y in 0..<h {
      for x in 0..<w {
        data[set[(y / k) * gw + x / k] * h * w + y * w + x] = 0
      }
    }
    return Tensor(shape: [n, 1, h, w], data: data)
  }
}
