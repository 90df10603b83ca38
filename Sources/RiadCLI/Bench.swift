import ArgumentParser
import Foundation
import RiadMethod
import RiadNN
import RiadTensor

/// `riad bench`: one RIAD training step and one image's anomaly map, timed.
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Time one training step (k=8, n=3, Adam, full loss) and one anomaly map; print one JSON line.")

  @Option(help: "Image side.") var size = 64
  @Option(help: "U-Net base width.") var base = 16
  @Option(help: "Batch size.") var batch = 8
  @Option(help: "Timed steps.") var steps = 5
  @Option(help: "Untimed warm-up steps.") var warmup = 2
  @Option(help: "Worker threads (riad and OpenBLAS).") var threads: Int?

  func validate() throws {
    guard size >= 16, size % 16 == 0 else { throw ValidationError("--size must be a multiple of 16, got \(size)") }
    guard base >= 1, batch >= 1, steps >= 1, warmup >= 0 else { throw ValidationError("--base, --batch and --steps must be ≥ 1") }
  }

  func run() throws {
    if let threads { setThreads(threads) }
    var rng = RandomGenerator(seed: 0)
    let net = try UNet(UNetConfig(channels: 3, base: base), rng: &rng)
    let opt = Adam(net.parameters, lr: 1e-4)
    let x = Tensor.rand([batch, 3, size, size], using: &rng)
    for _ in 0..<warmup { try Training.step(net, opt, x, k: 8, n: 3, using: &rng) }
    var t = Date()
    for _ in 0..<steps { try Training.step(net, opt, x, k: 8, n: 3, using: &rng) }
    let trainMs = Date().timeIntervalSince(t) / Double(steps) * 1000
    let one = try Training.gatherRows(x, [0])
    _ = try Inpainting.anomalyMap(net, one)
    t = Date()
    for i in 0..<steps { _ = try Inpainting.anomalyMap(net, one, seed: UInt64(i)) }
    let inferMs = Date().timeIntervalSince(t) / Double(steps) * 1000
    let json = String(format: "{\"impl\":\"riad\",\"size\":%d,\"base\":%d,\"batch\":%d,\"params\":%d,\"train_step_ms\":%.1f,\"infer_image_ms\":%.1f,\"threads\":%d}",
                      size, base, batch, net.parameterCount, trainMs, inferMs, threads ?? workerThreads)
    print(json)
  }
}
