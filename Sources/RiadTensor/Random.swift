/// The seeded random number generator behind every random draw in riad.
///
/// Algorithm: xoshiro256** (Blackman and Vigna, 2018) whose 256-bit state is
/// filled from the seed by SplitMix64. Floats take the top 24 bits of a draw,
/// so `nextUniform()` is a multiple of 2⁻²⁴ in [0, 1); normals come from the
/// Box–Muller transform in double precision. The same seed gives the same
/// stream on every machine.
public struct RandomGenerator: RandomNumberGenerator {
  private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
  private var spareNormal: Float?

  public init(seed: UInt64) {
    var x = seed
    func splitmix() -> UInt64 {
      x &+= 0x9E37_79B9_7F4A_7C15
      var z = x
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
  }

  /// The whole state as text (four 64-bit words and a pending normal draw),
  /// for checkpoints that resume a run exactly: `init(state:)` reads it back.
  public var state: String {
    let words = [s0, s1, s2, s3].map { String($0, radix: 16) }
    return (words + [spareNormal.map { String($0.bitPattern, radix: 16) } ?? "-"]).joined(separator: " ")
  }

  /// A generator in the state that `state` wrote; nil when the text is not one.
  public init?(state text: String) {
    let parts = text.split(separator: " ").map(String.init)
    guard parts.count == 5 else { return nil }
    let words = parts.prefix(4).compactMap { UInt64($0, radix: 16) }
    guard words.count == 4, words.contains(where: { $0 != 0 }) else { return nil }
    (s0, s1, s2, s3) = (words[0], words[1], words[2], words[3])
    if parts[4] == "-" { spareNormal = nil } else {
      guard let bits = UInt32(parts[4], radix: 16) else { return nil }
      spareNormal = Float(bitPattern: bits)
    }
  }

  public mutating func next() -> UInt64 {
    let result = rotl(s1 &* 5, 7) &* 9
    let t = s1 << 17
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
    s2 ^= t
    s3 = rotl(s3, 45)
    return result
  }

  @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
    (x << k) | (x >> (64 - k))
  }

  /// A uniform float in [0, 1) with 24 random bits.
  public mutating func nextUniform() -> Float { Float(next() >> 40) * 0x1p-24 }

  /// A uniform double in [0, 1) with 53 random bits.
  public mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

  /// A standard normal draw.
  public mutating func nextNormal() -> Float {
    if let spare = spareNormal { spareNormal = nil; return spare }
    var u1 = nextDouble()
    while u1 <= 0 { u1 = nextDouble() }
    let u2 = nextDouble()
    let r = (-2 * _log(u1)).squareRoot()
    spareNormal = Float(r * _sin(2 * .pi * u2))
    return Float(r * _cos(2 * .pi * u2))
  }

  /// A uniform integer in `0..<bound` without modulo bias.
  public mutating func nextInt(below bound: Int) -> Int {
    precondition(bound > 0)
    return Int(next(upperBound: UInt64(bound)))
  }

  /// A random permutation of `0..<n` (Fisher–Yates).
  public mutating func permutation(_ n: Int) -> [Int] {
    var p = Array(0..<n)
    if n < 2 { return p }
    for i in stride(from: n - 1, to: 0, by: -1) {
      p.swapAt(i, nextInt(below: i + 1))
    }
    return p
  }
}

import Foundation
@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _sin(_ x: Double) -> Double { Foundation.sin(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }

/// The process-wide generator used when a builtin gets no explicit seed.
/// `seed(n)` and `--seed` reset it.
nonisolated(unsafe) public var globalGenerator = RandomGenerator(seed: 0)
