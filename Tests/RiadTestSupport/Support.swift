import Foundation
import RiadTensor
import XCTest

/// The folder of test fixtures (golden values copied from PyTorch runs).
public let fixturesURL = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

/// One golden case: a JSON file with inputs, outputs and a tolerance.
public struct Golden {
  public let name: String
  public let tolerance: Double
  public let inputs: [String: Any]
  public let outputs: [String: Any]

  public init(_ file: String) throws {
    let url = fixturesURL.appendingPathComponent("golden").appendingPathComponent(file + ".json")
    let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    name = file
    tolerance = object["tolerance"] as! Double
    inputs = object["inputs"] as! [String: Any]
    outputs = object["outputs"] as! [String: Any]
  }

  public func input(_ key: String) -> Tensor { Golden.tensor(inputs[key]!) }
  public func output(_ key: String) -> Tensor { Golden.tensor(outputs[key]!) }
  public func number(_ key: String) -> Double {
    if let d = outputs[key] as? Double { return d }
    return inputs[key] as! Double
  }

  static func tensor(_ any: Any) -> Tensor {
    let d = any as! [String: Any]
    let shape = (d["shape"] as! [Any]).map { ($0 as! NSNumber).intValue }
    let data = (d["data"] as! [Any]).map { ($0 as! NSNumber).floatValue }
    return Tensor(shape: shape, data: data)
  }
}

/// Asserts equal shapes, then every element within `atol + rtol·|expected|`.
public func assertClose(_ actual: Tensor, _ expected: Tensor, atol: Double, rtol: Double = 0,
                        _ what: String = "", file: StaticString = #filePath, line: UInt = #line) {
  guard actual.shape == expected.shape else {
    XCTFail("\(what): shape \(actual.shape) differs from expected \(expected.shape)", file: file, line: line)
    return
  }
  var worst = 0.0, at = 0
  for i in 0..<actual.count {
    let diff = abs(Double(actual.data[i]) - Double(expected.data[i]))
    let allowed = atol + rtol * abs(Double(expected.data[i]))
    if !(diff <= allowed) && (diff > worst || diff.isNaN) { worst = diff.isNaN ? .infinity : diff; at = i }
  }
  if worst > 0 {
    XCTFail("\(what): element \(at) is \(actual.data[at]), expected \(expected.data[at]) (|diff| \(worst) > atol \(atol))",
            file: file, line: line)
  }
}

/// Central finite differences of a scalar function with respect to `x`,
/// computed in float32 with step `h`, compared with the autograd gradient.
public func assertGradientMatchesFiniteDifferences(
  _ x: Tensor, atol: Double = 2e-2, rtol: Double = 2e-2, h: Float = 1e-2, samples: Int = 24,
  file: StaticString = #filePath, line: UInt = #line, _ f: (Tensor) throws -> Tensor
) throws {
  let p = x.copy().asParameter()
  try f(p).backward()
  guard let g = p.grad else { XCTFail("no gradient", file: file, line: line); return }
  var rng = RandomGenerator(seed: 99)
  let picks = x.count <= samples ? Array(0..<x.count) : (0..<samples).map { _ in rng.nextInt(below: x.count) }
  for i in picks {
    let plus = x.copy(), minus = x.copy()
    plus.update { $0[i] += h }; minus.update { $0[i] -= h }
    let fp = try withNoGrad { try f(plus).item() }, fm = try withNoGrad { try f(minus).item() }
    let numeric = (Double(fp) - Double(fm)) / Double(2 * h)
    let analytic = Double(g.data[i])
    XCTAssertEqual(analytic, numeric, accuracy: atol + rtol * abs(numeric),
                   "gradient element \(i)", file: file, line: line)
  }
}

/// `sum(y · r)` for a fixed random r of y's shape (seeded by its size): a
/// scalar whose gradient weights every element of y differently, for
/// finite-difference checks.
public func weighted(_ y: Tensor) throws -> Tensor {
  var r = RandomGenerator(seed: UInt64(y.count))
  return try (y * Tensor.randn(y.shape, using: &r)).sum()
}

/// Runs `body` with `convolutionPolicy` set to `policy`, then restores it.
public func withPolicy<R>(_ policy: ConvolutionPolicy, _ body: () throws -> R) rethrows -> R {
  let saved = convolutionPolicy
  convolutionPolicy = policy
  defer { convolutionPolicy = saved }
  return try body()
}
