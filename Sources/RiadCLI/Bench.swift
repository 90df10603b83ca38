import ArgumentParser
import CShims
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
  @OptionGroup var options: GlobalOptions
  @Flag(help: "Instead: GFLOP/s of sgemm, and the milliseconds, GFLOP/s and share of that sgemm of every conv layer of the U-Net, forward and backward (a table; backward computes the gradients training needs: the weights' everywhere, the input's except for the first layer, whose input is the image).") var layers = false
  @Option(help: "With --layers: only the layers whose name starts with this (down3, up1.conv2, final).") var only: String?
  @Flag(help: "Instead: the best of --steps forward + backward passes of the U-Net (net(x), backward(mean)); one JSON line.")
  var forwardBackward = false
  @Option(help: "How convolutions run: automatic, im2col (OpenBLAS only), planes or positions (riad's kernels wherever they apply), winograd (F(2×2, 3×3) for every 3×3 same convolution, F(2×2, 2×2) for every 4×4 stride-2 one), winograd4 (the same with F(4×4, 3×3)).")
  var convolution: ConvolutionChoice = .automatic
  @Option(help: "Which kernels: auto (the widest this processor runs), \(KernelVariant.allCases.map(\.rawValue).joined(separator: ", ")) or none (also RIAD_KERNELS).")
  var kernels: String = "auto"

  func validate() throws {
    guard size >= 16, size % 16 == 0 else { throw ValidationError("--size must be a multiple of 16, got \(size)") }
    guard base >= 1, batch >= 1, steps >= 1, warmup >= 0 else { throw ValidationError("--base, --batch and --steps must be ≥ 1") }
    if let only {
      guard layers else { throw ValidationError("--only picks layers of --layers; add --layers") }
      let names = unetLayers().map(\.name)
      guard names.contains(where: { $0.hasPrefix(only) }) else {
        throw ValidationError("--only '\(only)' starts no layer's name; the layers are \(names.joined(separator: ", "))")
      }
    }
    if kernels != "auto" && kernels != "none" {
      guard let v = KernelVariant(rawValue: kernels) else {
        throw ValidationError("--kernels must be auto, none or one of \(KernelVariant.allCases.map(\.rawValue).joined(separator: ", ")), got '\(kernels)'")
      }
      guard v.isAvailable else {
        throw ValidationError("--kernels \(kernels): this processor or build cannot run them (it runs: \(KernelVariant.available.map(\.rawValue).joined(separator: ", ")))")
      }
    }
  }

  func run() throws {
    riad_sigint_restore_default()  // nothing here polls for Ctrl-C: let it stop the process
    if let threads = options.threads { setThreads(threads) }
    convolutionPolicy = convolution.policy
    if kernels != "auto" { kernelVariant = KernelVariant(rawValue: kernels) }
    if layers { try layerTable(); return }
    if forwardBackward { try forwardBackwardPass(); return }
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
    let json = String(format: "{\"impl\":\"riad\",\"size\":%d,\"base\":%d,\"batch\":%d,\"params\":%d,\"train_step_ms\":%.1f,\"infer_image_ms\":%.1f,\"threads\":%d,\"kernels\":\"%@\",\"blas_core\":\"%@\"}",
                      size, base, batch, net.parameterCount, trainMs, inferMs, workerThreads, kernelVariant?.rawValue ?? "none",
                      BLASCore.current)
    print(json)
  }

  /// The measure of the numerical-core issue: `net(x)` and `backward(mean(y))`.
  func forwardBackwardPass() throws {
    var rng = RandomGenerator(seed: 0)
    let net = try UNet(UNetConfig(channels: 3, base: base), rng: &rng)
    let x = Tensor.rand([batch, 3, size, size], using: &rng)
    let best = try time { try net(x).mean().backward() }
    print(String(format: "{\"impl\":\"riad\",\"size\":%d,\"base\":%d,\"batch\":%d,\"forward_backward_ms\":%.1f,\"convolution\":\"%@\",\"threads\":%d}",
                 size, base, batch, best * 1000, convolution.rawValue, workerThreads))
  }

  /// One conv layer of the U-Net: its shape and where it runs.
  struct Layer {
    let name: String, transposed: Bool, cin: Int, cout: Int, kernel: Int, stride: Int, side: Int
    /// Whether training needs the gradient of the layer's input (not for
    /// the first layer: its input is the masked image).
    var inputGradient = true
    /// Multiply-adds of the forward pass over the batch.
    func macs(_ batch: Int) -> Double {
      let out = transposed ? side * 2 : (side + 2 - kernel) / stride + 1
      let positions = transposed ? side * side : out * out
      return Double(batch * cin * cout * kernel * kernel * positions)
    }
  }

  func unetLayers() -> [Layer] {
    let w = UNetConfig(base: base).widths
    var out: [Layer] = [Layer(name: "down1.conv1", transposed: false, cin: 3, cout: w[0], kernel: 3, stride: 1, side: size,
                              inputGradient: false),
                        Layer(name: "down1.conv2", transposed: false, cin: w[0], cout: w[0], kernel: 3, stride: 1, side: size)]
    for i in 1..<w.count {
      out.append(Layer(name: "down\(i + 1).conv1", transposed: false, cin: w[i - 1], cout: w[i], kernel: 4, stride: 2, side: size >> (i - 1)))
      out.append(Layer(name: "down\(i + 1).conv2", transposed: false, cin: w[i], cout: w[i], kernel: 3, stride: 1, side: size >> i))
    }
    for j in 0..<(w.count - 1) {
      let i = w.count - 1 - j
      out.append(Layer(name: "up\(j + 1).upconv", transposed: true, cin: w[i], cout: w[i - 1], kernel: 4, stride: 2, side: size >> i))
      out.append(Layer(name: "up\(j + 1).conv1", transposed: false, cin: 2 * w[i - 1], cout: w[i - 1], kernel: 3, stride: 1, side: size >> (i - 1)))
      out.append(Layer(name: "up\(j + 1).conv2", transposed: false, cin: w[i - 1], cout: w[i - 1], kernel: 3, stride: 1, side: size >> (i - 1)))
    }
    out.append(Layer(name: "final", transposed: false, cin: w[0], cout: 3, kernel: 3, stride: 1, side: size))
    return out
  }

  /// Seconds per call of `body`, the best of `steps` after `warmup` calls.
  func time(_ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<max(1, warmup) { try body() }
    var best = Double.infinity
    for _ in 0..<steps {
      let t = Date()
      try body()
      best = min(best, Date().timeIntervalSince(t))
    }
    return best
  }

  func layerTable() throws {
    var rng = RandomGenerator(seed: 0)
    let n = 1024
    let a = Tensor.rand([n, n], using: &rng), b = Tensor.rand([n, n], using: &rng)
    let gemm = try time { _ = try Tensor.matmul(a, b) }
    print("OpenBLAS core \(ComputeInfo.blasCore); kernels: \(ComputeInfo.kernelISA)")
    let peak = 2 * pow(Double(n), 3) / gemm / 1e9
    print(String(format: "sgemm %d×%d×%d: %.1f GFLOP/s (%d threads)", n, n, n, peak, workerThreads))
    // "% sgemm": a layer's GFLOP/s as a share of that sgemm's, measured in
    // the same run (Winograd layers count the direct convolution's FLOPs).
    print("layer            shape (batch \(batch))                 forward ms  GFLOP/s  % sgemm  backward ms  GFLOP/s  % sgemm  path")
    var totalF = 0.0, totalB = 0.0, flopsF = 0.0, flopsAllB = 0.0
    for l in unetLayers() where only.map({ l.name.hasPrefix($0) }) ?? true {
      let image = Tensor.rand([batch, l.cin, l.side, l.side], using: &rng)
      let x = l.inputGradient ? image.asParameter() : image
      let w = (l.transposed ? Tensor.randn([l.cin, l.cout, l.kernel, l.kernel], using: &rng)
                            : Tensor.randn([l.cout, l.cin, l.kernel, l.kernel], using: &rng)).asParameter()
      let bias = Tensor.zeros([l.cout]).asParameter()
      func forward() throws -> Tensor {
        l.transposed ? try Tensor.convTranspose2d(x, w, bias, stride: 2, padding: 1)
                     : try Tensor.conv2d(x, w, bias, stride: l.stride, padding: 1)
      }
      let tf = try time { _ = try withNoGrad { try forward() } }
      let y = try forward()
      let g = Tensor.ones(y.shape)
      let tb = try time { x.grad = nil; w.grad = nil; bias.grad = nil; try y.backward(g) }
      // Backward: one product the size of the forward per gradient computed.
      let macs = l.macs(batch), flopsB = 2 * macs * (l.inputGradient ? 2 : 1)
      totalF += tf; totalB += tb; flopsF += 2 * macs; flopsAllB += flopsB
      let shape = "\(l.cin)→\(l.cout) \(l.transposed ? "T" : "")\(l.kernel)×\(l.kernel)/\(l.stride) at \(l.side)²"
      let path = Tensor.convolutionImplementation(input: x.shape, weight: w.shape, stride: l.transposed ? 2 : l.stride,
                                                  padding: 1, transposed: l.transposed)
      let gflopsF = 2 * macs / tf / 1e9, gflopsB = flopsB / tb / 1e9
      print(l.name.padding(toLength: 17, withPad: " ", startingAt: 0) + shape.padding(toLength: 38, withPad: " ", startingAt: 0)
            + String(format: "%10.2f %8.1f %8.0f %12.2f %8.1f %8.0f  ", tf * 1000, gflopsF, 100 * gflopsF / peak,
                     tb * 1000, gflopsB, 100 * gflopsB / peak) + path)
    }
    print(String(format: "all conv layers: forward %.1f ms (%.1f GFLOP/s), backward %.1f ms (%.1f GFLOP/s)",
                 totalF * 1000, flopsF / totalF / 1e9, totalB * 1000, flopsAllB / totalB / 1e9))
  }
}

/// `--convolution`: the implementation policy for conv2d and conv_transpose2d.
enum ConvolutionChoice: String, ExpressibleByArgument, CaseIterable {
  case automatic, im2col, planes, positions, winograd, winograd4

  var policy: ConvolutionPolicy {
    switch self {
    case .automatic: return .automatic
    case .im2col: return .im2col
    case .planes: return .planes
    case .positions: return .positions
    case .winograd: return .winograd
    case .winograd4: return .winograd4
    }
  }
}
