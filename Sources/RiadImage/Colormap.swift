import RiadTensor

/// Colour maps from a value in [0,1] to RGB in [0,1].
public enum Colormap: String, CaseIterable {
  case jet, viridis, gray, magma

  /// Viridis and magma as anchors every 1/8 (matplotlib's maps, sampled);
  /// colours between anchors are interpolated linearly.
  static let viridisAnchors: [(Float, Float, Float)] = [
    (0x44, 0x01, 0x54), (0x47, 0x2d, 0x7b), (0x3b, 0x52, 0x8b), (0x2c, 0x72, 0x8e), (0x21, 0x91, 0x8c),
    (0x28, 0xae, 0x80), (0x5e, 0xc9, 0x62), (0xad, 0xdc, 0x30), (0xfd, 0xe7, 0x25),
  ]
  static let magmaAnchors: [(Float, Float, Float)] = [
    (0x00, 0x00, 0x04), (0x1c, 0x10, 0x44), (0x4f, 0x12, 0x7b), (0x81, 0x25, 0x81), (0xb5, 0x36, 0x7a),
    (0xe5, 0x50, 0x64), (0xfb, 0x87, 0x61), (0xfe, 0xc2, 0x87), (0xfc, 0xfd, 0xbf),
  ]

  public func rgb(_ v: Float) -> (Float, Float, Float) {
    let x = v.isNaN ? 0 : Swift.min(Swift.max(v, 0), 1)
    switch self {
    case .gray: return (x, x, x)
    case .jet:
      // The classic piecewise-linear jet: blue → cyan → yellow → red.
      func ramp(_ c: Float) -> Float { Swift.min(Swift.max(1.5 - abs(4 * x - c), 0), 1) }
      return (ramp(3), ramp(2), ramp(1))
    case .viridis: return Colormap.interpolate(Colormap.viridisAnchors, x)
    case .magma: return Colormap.interpolate(Colormap.magmaAnchors, x)
    }
  }

  static func interpolate(_ anchors: [(Float, Float, Float)], _ x: Float) -> (Float, Float, Float) {
    let f = x * Float(anchors.count - 1)
    let i = Swift.min(Int(f), anchors.count - 2)
    let t = f - Float(i)
    let (a, b) = (anchors[i], anchors[i + 1])
    return ((a.0 + (b.0 - a.0) * t) / 255, (a.1 + (b.1 - a.1) * t) / 255, (a.2 + (b.2 - a.2) * t) / 255)
  }

  public static func named(_ name: String) throws -> Colormap {
    guard let c = Colormap(rawValue: name) else {
      throw TensorError("heatmap: unknown colour map \"\(name)\" (choose \(allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")))")
    }
    return c
  }
}
