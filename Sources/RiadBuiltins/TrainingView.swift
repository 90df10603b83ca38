import Foundation
import RiadImage
import RiadLang
import RiadMethod
import RiadNN
import RiadTensor

/// What a person sees while `train` and `evaluate` run, on stderr: a bar
/// redrawn in place on a terminal (a line every few epochs otherwise), and a
/// one-line summary at the end that stays.
final class ProgressBar {
  unowned let session: Session
  var lastDraw = Date.distantPast
  /// Whether a bar is on the current line (and must be cleared first).
  private(set) var onScreen = false

  init(session: Session) { self.session = session }

  /// Draws `text` with a bar `done/total` full, at most ten times a second.
  func draw(_ text: String, done: Double, total: Double, force: Bool = false) {
    guard session.progressIsTerminal else { return }
    guard force || Date().timeIntervalSince(lastDraw) > 0.1 || done >= total else { return }
    lastDraw = Date()
    let width = 24, filled = max(0, min(width, Int(Double(width) * done / max(total, 1))))
    let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
    session.errorOutput("\r\u{1b}[K  \(bar) \(text)")
    onScreen = true
  }

  /// Takes the bar off its line (before a picture is drawn there).
  func clear() {
    if onScreen { session.errorOutput("\r\u{1b}[K"); onScreen = false }
  }

  /// Replaces the bar with a line that stays.
  func finish(_ summary: String) {
    clear()
    session.errorOutput(summary + "\n")
  }

  /// Seconds as `42s` or `3m07s`.
  static func clock(_ s: Double) -> String {
    guard s.isFinite, s >= 0 else { return "?" }
    let t = Int(s.rounded())
    return t >= 60 ? "\(t / 60)m\(String(format: "%02d", t % 60))s" : "\(t)s"
  }
}

/// `train`'s progress: the bar with epoch, step, loss and time left; a line
/// every tenth of the epochs when stderr is not a terminal.
final class TrainingBar {
  let bar: ProgressBar
  let epochs: Int
  init(session: Session, epochs: Int) { bar = ProgressBar(session: session); self.epochs = epochs }

  func update(_ p: TrainingProgress) {
    let done = Double(p.globalStep), total = Double(max(1, p.totalSteps))
    let left = p.elapsed / done * (total - done)
    let loss = Format.short(Double(p.loss))
    if bar.session.progressIsTerminal {
      bar.draw("epoch \(p.epoch)/\(p.epochs) step \(p.step)/\(p.steps)  loss \(loss)  \(ProgressBar.clock(p.elapsed)) elapsed, \(ProgressBar.clock(left)) left",
               done: done, total: total)
    } else if p.step == p.steps {
      let every = max(1, (epochs + 9) / 10)
      if p.epoch % every == 0 || p.epoch == p.epochs || p.epoch == 1 {
        bar.session.errorOutput("  epoch \(p.epoch)/\(p.epochs)  loss \(loss)  \(ProgressBar.clock(p.elapsed)) elapsed, \(ProgressBar.clock(left)) left\n")
      }
    }
  }

  /// The line that stays: how far it went, the loss, the time.
  func finish(_ h: TrainingHistory, planned: Int) {
    let steps = h.stepLoss.count
    let last = h.epochLoss.last ?? h.stepLoss.last
    var line: String
    if h.interrupted {
      line = "train: interrupted after \(h.epochs) of \(planned) epochs (\(steps) step\(steps == 1 ? "" : "s")) in \(ProgressBar.clock(h.seconds))"
      if let l = h.stepLoss.last { line += ", last step loss \(Format.short(l))" }
      line += "; the history so far is returned"
    } else {
      line = "train: \(h.epochs) epoch\(h.epochs == 1 ? "" : "s") (\(steps) step\(steps == 1 ? "" : "s")) in \(ProgressBar.clock(h.seconds))"
      if let last { line += ", final loss \(Format.short(last))" }
      if let first = h.epochLoss.first, h.epochLoss.count > 1 { line += " (first epoch \(Format.short(first)))" }
    }
    bar.finish(line)
  }
}

/// `train(…, preview: x, every: N)`: every N steps (and after the last), the
/// current reconstruction of one fixed image and its anomaly map beside the
/// loss curve so far. On a terminal each frame is drawn over the last; in
/// files mode and in reports each is a picture of its own. The preview's
/// masks have their own seed, so a run trains the same with or without it.
final class TrainingPreview {
  unowned let session: Session
  let net: UNet
  let image: Tensor
  let every: Int
  let ks: [Int], n: Int
  /// The cell size of the shown reconstruction: the middle of `ks`.
  let k: Int
  private let masks: Tensor

  init(session: Session, net: UNet, image: Tensor, every: Int, ks: [Int], n: Int) throws {
    self.session = session; self.net = net; self.every = every; self.ks = ks; self.n = n
    self.image = image
    let sorted = ks.sorted()
    k = sorted[sorted.count / 2]
    var rng = RandomGenerator(seed: 0)
    masks = try Masks.make(height: image.shape[1], width: image.shape[2], k: k, n: n, using: &rng)
  }

  /// Whether step `s` (1-based, over the run) of `total` gets a frame.
  func due(_ s: Int, of total: Int) -> Bool { s % every == 0 || s == total }

  func figure(_ p: TrainingProgress, losses: [Double]) throws -> Figure {
    let wasTraining = net.training
    net.training = false
    defer { net.training = wasTraining }
    let (r, map) = try withNoGrad { () -> (Tensor, Tensor) in
      let x = try image.reshaped([1] + image.shape)
      let r = try Inpainting.inpaint(net, x, masks)
      let m = try Inpainting.anomalyMap(net, x, ks: ks, n: n, smooth: nil, draws: 1, seed: 0)
      return (try r.indexed([.at(0)]), try m.reshaped([image.shape[1], image.shape[2]]))
    }
    let (lo, hi) = (map.data.min() ?? 0, map.data.max() ?? 1)
    let pictures = Figure.grid([
      Figure.Panel(caption: "input", image: try RGBImage(image)),
      Figure.Panel(caption: "reconstruction k=\(k)", image: try RGBImage(r)),
      Figure.Panel(caption: "anomaly map", image: try RGBImage(ImageOps.heatmap(map)), colorBar: .init(lo: lo, hi: hi, cmap: .jet)),
    ], columns: 3, minSide: 96)
    let side = max(150, try pictures.drawn().height)
    let curve = Figure(.plot(Figure.Plot(series: [Figure.Series(name: nil, x: losses.indices.map { Double($0 + 1) }, y: losses)],
                                         xlabel: "step", ylabel: "loss"), width: side * 7 / 5, height: side))
    let title = "epoch \(p.epoch)/\(p.epochs) · step \(p.globalStep)/\(p.totalSteps) · loss \(Format.short(Double(p.stepLoss)))"
    return Figure(title: title, .row([pictures, curve]))
  }
}
