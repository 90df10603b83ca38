/// Sums of float arrays in double precision at vector speed.
///
/// A plain `s += Double(p[i])` loop is one long chain of dependent adds (the
/// compiler may not reorder floating-point sums), a few cycles per element.
/// These sum blocks of 512 values in 16 float lanes (each lane adds 32
/// values) and add the block totals in Double, so they run at memory speed
/// and stay accurate to about 1e-6 relative, whatever the length.

/// Eight floats from `p` (any alignment).
@inline(__always)
func lanes(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Stores eight floats at `p` (any alignment).
@inline(__always)
func storeLanes(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// Covers `0 ..< n` in steps of eight while eight remain (`eight(i)` for
/// i ..< i + 8), then one at a time (`one(i)`).
@inline(__always)
func byEights(_ n: Int, _ eight: (Int) -> Void, _ one: (Int) -> Void) {
  var i = 0
  while i + 8 <= n { eight(i); i += 8 }
  while i < n { one(i); i += 1 }
}

/// Σ f(i) over 0..<n, where `vector(i)` gives f at i..<i+8 and `scalar(i)` at i.
@inline(__always)
func blockedSum(_ n: Int, _ vector: (Int) -> SIMD8<Float>, _ scalar: (Int) -> Float) -> Double {
  var total: Double = 0
  var i = 0
  while i < n {
    let end = Swift.min(n, i + 512)
    var a = SIMD8<Float>(), b = SIMD8<Float>()
    var j = i
    while j + 16 <= end { a += vector(j); b += vector(j + 8); j += 16 }
    var rest: Float = 0
    while j < end { rest += scalar(j); j += 1 }
    total += Double((a + b).sum()) + Double(rest)
    i = end
  }
  return total
}

/// Σ p[i]
func sumOf(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
  blockedSum(n, { lanes(p + $0) }, { p[$0] })
}

/// Σ (p[i] − mean)²
func sumOfSquaredDeviations(_ p: UnsafePointer<Float>, _ n: Int, from mean: Float) -> Double {
  let m = SIMD8<Float>(repeating: mean)
  return blockedSum(n, { let d = lanes(p + $0) - m; return d * d }, { let d = p[$0] - mean; return d * d })
}

/// Σ a[i]·b[i]
func dotOf(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
  blockedSum(n, { lanes(a + $0) * lanes(b + $0) }, { a[$0] * b[$0] })
}
