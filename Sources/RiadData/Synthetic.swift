import Foundation
import RiadTensor

/// Procedural textures with drawn defects whose masks are exact: every
/// changed pixel is in the mask and nothing else is. Deterministic by seed.
public enum Synthetic {
  public static let kinds = ["weave", "grid", "wood", "carpet"]
  public static let defectKinds = ["scratch", "spot", "missing", "stain"]

  /// A category of `train` normal images and `test` images of which half
  /// carry one defect each (kinds in rotation).
  public static func make(kind: String = "weave", size: Int = 64, train: Int = 120, test: Int = 60,
                          seed: UInt64 = 0) throws -> Dataset {
    guard kinds.contains(kind) else {
      throw TensorError("synthetic: unknown kind \"\(kind)\" (choose \(kinds.map { "\"\($0)\"" }.joined(separator: ", ")))")
    }
    guard size >= 8, size <= 1024 else { throw TensorError("synthetic: size must be 8 to 1024, got \(size)") }
    guard (train + test) * size * size <= 1 << 28 else {
      throw TensorError("synthetic: \(train + test) images of \(size)×\(size) are too many for memory; use fewer or smaller ones")
    }
    guard train >= 1, test >= 2 else { throw TensorError("synthetic: need train ≥ 1 and test ≥ 2, got \(train) and \(test)") }
    var rng = RandomGenerator(seed: seed &* 0x9E37_79B9 &+ UInt64(kinds.firstIndex(of: kind)!))
    let trainImages = (0..<train).map { _ in texture(kind, size, &rng) }
    var testImages: [Tensor] = [], masks: [Tensor] = [], labels: [Float] = [], defects: [String] = []
    let defective = test / 2
    for i in 0..<test {
      var img = texture(kind, size, &rng)
      if i < test - defective {
        masks.append(Tensor.zeros([1, size, size])); labels.append(0); defects.append("good")
      } else {
        let d = defectKinds[(i - (test - defective)) % defectKinds.count]
        let m = defect(d, &img, size, &rng)
        masks.append(m); labels.append(1); defects.append(d)
      }
      testImages.append(img)
    }
    return Dataset(name: kind, size: size, train: try Tensor.stack(trainImages), test: try Tensor.stack(testImages),
                   labels: Tensor(shape: [test], data: labels), masks: try Tensor.stack(masks),
                   defects: defects, paths: defects.enumerated().map { "synthetic/\(kind)/test/\($1)/\($0)" })
  }

  /// One normal texture image `[3,size,size]` with a random phase and mild noise.
  public static func texture(_ kind: String, _ n: Int, _ rng: inout RandomGenerator) -> Tensor {
    let px = Double(rng.nextUniform()) * 2 * .pi, py = Double(rng.nextUniform()) * 2 * .pi
    let s = Double(n) / 64
    var img = [Float](repeating: 0, count: 3 * n * n)
    let base: (Float, Float, Float)
    switch kind {
    case "weave": base = (0.55, 0.45, 0.35)
    case "grid": base = (0.35, 0.45, 0.55)
    case "wood": base = (0.60, 0.42, 0.25)
    default: base = (0.45, 0.50, 0.40)
    }
    // carpet: a few random low-frequency waves
    let waves = (0..<4).map { _ in (Double(rng.nextUniform()) * 0.5 + 0.2, Double(rng.nextUniform()) * 2 * .pi, Double(rng.nextUniform()) * 2 * .pi) }
    for y in 0..<n {
      for x in 0..<n {
        let (fx, fy) = (Double(x) / s, Double(y) / s)
        var v: Double
        switch kind {
        case "weave":
          let a = sin(fx * 0.8 + px), b = sin(fy * 0.8 + py)
          let over = sin(fx * 0.4 + px * 0.5) * sin(fy * 0.4 + py * 0.5) > 0
          v = 0.5 + 0.3 * (over ? a : b)
        case "grid":
          let gx = abs(sin(fx * 0.5 + px)), gy = abs(sin(fy * 0.5 + py))
          v = 0.35 + 0.5 * pow(max(gx, gy), 8)
        case "wood":
          let r = sqrt(pow(fx - 32 + 20 * cos(px), 2) * 0.15 + pow(fy - 32, 2) * 0.02)
          v = 0.5 + 0.3 * sin(r * 2.2 + py + 0.5 * sin(fy * 0.1 + px))
        default:
          v = 0.5
          for (f, a, b) in waves { v += 0.12 * sin(fx * f * cos(a) + fy * f * sin(a) + b) }
        }
        let noise = 0.02 * Double(rng.nextNormal())
        let value = Float(min(max(v + noise, 0), 1))
        img[y * n + x] = min(1, value * base.0 * 1.6)
        img[n * n + y * n + x] = min(1, value * base.1 * 1.6)
        img[2 * n * n + y * n + x] = min(1, value * base.2 * 1.6)
      }
    }
    return Tensor(shape: [3, n, n], data: img)
  }

  /// Draws defect `kind` into `img` and returns its exact mask `[1,n,n]`.
  public static func defect(_ kind: String, _ img: inout Tensor, _ n: Int, _ rng: inout RandomGenerator) -> Tensor {
    var mask = [Float](repeating: 0, count: n * n)
    let cx = Double(n) * (0.25 + 0.5 * Double(rng.nextUniform())), cy = Double(n) * (0.25 + 0.5 * Double(rng.nextUniform()))
    let scale = Double(n) / 64
    // The region first, as a predicate on pixels; then change exactly those pixels.
    let inside: (Int, Int) -> Bool
    switch kind {
    case "scratch":
      let angle = Double(rng.nextUniform()) * .pi, len = (14 + 10 * Double(rng.nextUniform())) * scale
      let (dx, dy) = (cos(angle), sin(angle)), half = max(0.8, 0.9 * scale)
      inside = { x, y in
        let (rx, ry) = (Double(x) + 0.5 - cx, Double(y) + 0.5 - cy)
        let along = rx * dx + ry * dy, across = -rx * dy + ry * dx
        return abs(along) <= len / 2 && abs(across) <= half
      }
    case "spot":
      let r = (3 + 3 * Double(rng.nextUniform())) * scale
      inside = { x, y in pow(Double(x) + 0.5 - cx, 2) + pow(Double(y) + 0.5 - cy, 2) <= r * r }
    case "missing":
      let w = (6 + 6 * Double(rng.nextUniform())) * scale, h = (6 + 6 * Double(rng.nextUniform())) * scale
      inside = { x, y in abs(Double(x) + 0.5 - cx) <= w / 2 && abs(Double(y) + 0.5 - cy) <= h / 2 }
    default:  // stain: an irregular blob
      let r = (5 + 4 * Double(rng.nextUniform())) * scale
      let lobes = (0..<3).map { _ in (Double(rng.nextUniform()) * 2 * .pi, 0.2 + 0.3 * Double(rng.nextUniform())) }
      inside = { x, y in
        let (rx, ry) = (Double(x) + 0.5 - cx, Double(y) + 0.5 - cy)
        let a = atan2(ry, rx)
        let rr = r * (1 + lobes.reduce(0) { $0 + $1.1 * cos(Double(2 + lobes.count) * a + $1.0) } / 2)
        return rx * rx + ry * ry <= rr * rr
      }
    }
    let dark = rng.nextUniform() < 0.5
    let tint: (Float, Float, Float) = (0.25 + 0.5 * rng.nextUniform(), 0.1 * rng.nextUniform(), 0.3 * rng.nextUniform())
    img.update { pixels in
      for y in 0..<n {
        for x in 0..<n where inside(x, y) {
          mask[y * n + x] = 1
          for c in 0..<3 {
            let i = c * n * n + y * n + x
            let old = pixels[i]
            let new: Float
            switch kind {
            case "scratch": new = dark ? old * 0.25 : min(1, old * 0.3 + 0.75)
            case "spot": new = dark ? 0.08 + 0.05 * Float(c) : 0.92 - 0.05 * Float(c)
            case "missing": new = 0.5 * (c == 0 ? 0.9 : 1)
            default: new = min(1, old * 0.5 + [tint.0, tint.1, tint.2][c] + 0.15)
            }
            // A changed pixel must differ visibly from the texture.
            pixels[i] = abs(new - old) < 0.02 ? (old > 0.5 ? old - 0.2 : old + 0.2) : new
          }
        }
      }
    }
    return Tensor(shape: [1, n, n], data: mask)
  }
}
