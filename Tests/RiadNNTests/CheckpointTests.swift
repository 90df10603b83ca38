import Foundation
import RiadNN
import RiadTensor
import RiadTestSupport
import XCTest

/// Checkpoints written by PyTorch, and training checkpoints.
final class CheckpointTests: RiadTestCase {
  let statedicts = fixturesURL.appendingPathComponent("torch-statedict")

  func scratch(_ name: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("riad-\(name)-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }

  /// State_dicts written by `safetensors.torch.save_file(net.state_dict())`
  /// (Tests/torch/check.py statedicts): no riad metadata, int64
  /// num_batches_tracked, each floating type, a DDP `module.` prefix. The
  /// expected outputs are PyTorch's, from the weights rounded to each type.
  func testPyTorchStateDictsLoadAndMatchPyTorchsOutputs() throws {
    let (expected, _, _) = try Safetensors.read(statedicts.appendingPathComponent("plain-expected.safetensors").path)
    let x = try XCTUnwrap(expected["x"])
    for (file, key, out) in [("f32", "y_f32", "sigmoid"), ("f16", "y_f16", "sigmoid"), ("bf16", "y_bf16", "sigmoid"),
                             ("f64", "y_f64", "sigmoid"), ("ddp", "y_f32", "sigmoid"), ("f32", "y_tanh", "tanh")] {
      let path = statedicts.appendingPathComponent("plain-\(file).safetensors").path
      let net = try UNet.load(from: path, out: out == "sigmoid" ? nil : out)
      XCTAssertEqual(net.config, UNetConfig(channels: 3, base: 4, depth: 3, out: out), file)
      net.training = false
      let y = try net(x), want = try XCTUnwrap(expected[key])
      XCTAssertEqual(y.shape, want.shape)
      let worst = zip(y.data, want.data).map { abs($0 - $1) }.max()!
      XCTAssertLessThan(worst, 1e-5, "\(file) \(out)")
    }
    // The types as written, so that the cases above are what they say.
    let (_, _, dtypes) = try Safetensors.read(statedicts.appendingPathComponent("plain-f16.safetensors").path)
    XCTAssertEqual(dtypes["down1.conv1.weight"], "F16")
    XCTAssertEqual(dtypes["down1.bn1.num_batches_tracked"], "I64")
    XCTAssertEqual(try Safetensors.read(statedicts.appendingPathComponent("plain-bf16.safetensors").path).dtypes["final.bias"], "BF16")
    XCTAssertEqual(try Safetensors.read(statedicts.appendingPathComponent("plain-f64.safetensors").path).dtypes["final.bias"], "F64")
  }

  /// Every binary16 bit pattern against Swift's own conversion.
  func testHalfPrecisionConversionIsExact() {
    for bits in 0...UInt16.max {
      let mine = Safetensors.halfToFloat(bits), theirs = Float(Float16(bitPattern: bits))
      if theirs.isNaN { XCTAssertTrue(mine.isNaN, "\(bits)") } else { XCTAssertEqual(mine.bitPattern, theirs.bitPattern, "\(bits)") }
    }
  }

  /// A state_dict that does not fit names the first tensor at fault and what was expected.
  func testMismatchedStateDictsNameTheTensor() throws {
    let dir = try scratch("mismatch")
    defer { try? FileManager.default.removeItem(at: dir) }
    let (tensors, _, _) = try Safetensors.read(statedicts.appendingPathComponent("plain-f32.safetensors").path)
    func write(_ t: [String: Tensor], _ name: String) throws -> String {
      let path = dir.appendingPathComponent(name).path
      try Safetensors.write(t.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, metadata: [:], to: path)
      return path
    }
    var missing = tensors; missing["up1.bn2.running_var"] = nil
    XCTAssertThrowsError(try UNet.load(from: try write(missing, "missing.safetensors"))) {
      XCTAssertTrue("\($0)".contains("has no tensor 'up1.bn2.running_var' (expected [8] for unet(channels: 3, base: 4, depth: 3))"), "\($0)")
    }
    var extra = tensors; extra["up1.attention.weight"] = Tensor.ones([2, 2])
    XCTAssertThrowsError(try UNet.load(from: try write(extra, "extra.safetensors"))) {
      XCTAssertTrue("\($0)".contains("has a tensor 'up1.attention.weight' [2, 2] that unet(channels: 3, base: 4, depth: 3) does not"), "\($0)")
    }
    var shaped = tensors; shaped["final.weight"] = Tensor.ones([1, 4, 3, 3])
    XCTAssertThrowsError(try UNet.load(from: try write(shaped, "shaped.safetensors"))) {
      XCTAssertTrue("\($0)".contains("'final.weight' has shape [1, 4, 3, 3], unet(channels: 3, base: 4, depth: 3) expects [3, 4, 3, 3]"), "\($0)")
    }
    let notUNet = try write(["encoder.0.weight": Tensor.ones([4, 3, 3, 3])], "other.safetensors")
    XCTAssertThrowsError(try UNet.load(from: notUNet)) {
      XCTAssertTrue("\($0)".contains("is not a U-Net state_dict: it has no tensor 'down1.conv1.weight'"), "\($0)")
      XCTAssertTrue("\($0)".contains("'encoder.0.weight'"), "\($0)")
    }
    // An element type riad does not read (a complex tensor, written by hand).
    let header = #"{"down1.conv1.weight":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#
    var blob = Data(withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Data($0) })
    blob.append(Data(header.utf8)); blob.append(Data(count: 8))
    let complex = dir.appendingPathComponent("complex.safetensors")
    try blob.write(to: complex)
    XCTAssertThrowsError(try UNet.load(from: complex.path)) {
      XCTAssertTrue("\($0)".contains("tensor 'down1.conv1.weight' is C64; riad reads F32, F16, BF16, F64"), "\($0)")
    }
    XCTAssertThrowsError(try UNet.load(from: statedicts.appendingPathComponent("plain-f32.safetensors").path, out: "relu")) {
      XCTAssertTrue("\($0)".contains("out must be"), "\($0)")
    }
  }

  /// A training checkpoint puts back the model, Adam's moments, step count
  /// and learning rate, and the training run, exactly.
  func testTrainingCheckpointRoundTrip() throws {
    let dir = try scratch("training")
    defer { try? FileManager.default.removeItem(at: dir) }
    var rng = RandomGenerator(seed: 1)
    let net = try UNet(UNetConfig(base: 2, depth: 2), rng: &rng)
    let opt = Adam(net.parameters, lr: 3e-4, betas: (0.8, 0.99), weightDecay: 1e-5)
    for p in net.parameters { p.grad = Tensor(shape: p.shape, data: (0..<p.count).map { _ in rng.nextUniform() - 0.5 }) }
    opt.step(); opt.step()
    opt.run = TrainingRun(seed: 9, generator: rng.state, epochs: 3, steps: 7)
    opt.run?.order = [2, 0, 1]; opt.run?.epochStep = 1
    var session = RandomGenerator(seed: 5); _ = session.nextNormal()  // a pending normal draw is state too
    let path = dir.appendingPathComponent("run.safetensors").path
    try net.save(to: path, optimizer: opt, generator: session)

    let (again, restored, generator) = try UNet.loadTraining(from: path)
    let adam = try XCTUnwrap(restored as? Adam)
    XCTAssertEqual(adam.steps, 2)
    XCTAssertEqual(adam.learningRate, 3e-4)
    XCTAssertEqual([adam.beta1, adam.beta2], [0.8, 0.99])
    XCTAssertEqual(adam.m, opt.m)
    XCTAssertEqual(adam.v, opt.v)
    XCTAssertEqual(adam.run, opt.run)
    for (a, b) in zip(net.namedTensors, again.namedTensors) { XCTAssertEqual(a.tensor.data, b.tensor.data, a.name) }
    // The optimizer updates the loaded model's own tensors.
    XCTAssertTrue(zip(adam.parameters, again.parameters).allSatisfy { $0 === $1 })
    var g = try XCTUnwrap(generator)
    XCTAssertEqual(g.nextNormal(), session.nextNormal())
    XCTAssertEqual(g.next(), session.next())
    // load reads the same file as a model; a model checkpoint is not a training one.
    XCTAssertEqual(try UNet.load(from: path).config, net.config)
    let plain = dir.appendingPathComponent("model.safetensors").path
    try net.save(to: plain)
    XCTAssertThrowsError(try UNet.loadTraining(from: plain)) { XCTAssertTrue("\($0)".contains("holds a model but no optimizer"), "\($0)") }
    // An optimizer of another model's tensors is refused.
    let stranger = Adam([Tensor.ones([3])])
    XCTAssertThrowsError(try net.save(to: plain, optimizer: stranger)) {
      XCTAssertTrue("\($0)".contains("not a parameter of this model"), "\($0)")
    }
  }

  func testGeneratorStateRoundTrips() {
    var g = RandomGenerator(seed: 42)
    for _ in 0..<3 { _ = g.next() }
    var copy = RandomGenerator(state: g.state)!
    XCTAssertEqual((0..<5).map { _ in copy.next() }, (0..<5).map { _ in g.next() })
    XCTAssertNil(RandomGenerator(state: "0 0 0 0 -"))  // xoshiro's one forbidden state
    XCTAssertNil(RandomGenerator(state: "1 2 3"))
  }
}
