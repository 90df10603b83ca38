import Foundation
import RiadTensor

/// Ranking metrics, exact (no binning), with ties handled as scikit-learn
/// does: tied scores form one threshold.
public enum Metrics {
  /// The ROC curve: one point per distinct score (descending), starting at
  /// (0, 0) with threshold +∞.
  public static func roc(_ scores: [Float], _ labels: [Float]) throws -> (fpr: [Double], tpr: [Double], thresholds: [Double]) {
    try curve(cumulativeCounts(scores, labels, "roc"))
  }

  static func curve(_ counts: ([Double], [Double], [Double])) throws -> (fpr: [Double], tpr: [Double], thresholds: [Double]) {
    let (tps, fps, thr) = counts
    let p = tps.last!, n = fps.last!
    guard p > 0, n > 0 else {
      throw TensorError("roc: labels need both classes, got \(Int(p)) positives and \(Int(n)) negatives")
    }
    return ([0] + fps.map { $0 / n }, [0] + tps.map { $0 / p }, [.infinity] + thr)
  }

  /// Area under the ROC curve by the trapezoid rule.
  public static func auroc(_ scores: [Float], _ labels: [Float]) throws -> Double {
    trapezoid(try roc(scores, labels))
  }

  /// Average precision Σₙ (Rₙ − Rₙ₋₁)·Pₙ over the distinct thresholds.
  public static func averagePrecision(_ scores: [Float], _ labels: [Float]) throws -> Double {
    try averagePrecision(counts: cumulativeCounts(scores, labels, "average_precision"))
  }

  /// Both, from one sort of the scores (the pixel metrics of a whole test set).
  public static func aurocAndAveragePrecision(_ scores: [Float], _ labels: [Float]) throws -> (auroc: Double, ap: Double) {
    let counts = try cumulativeCounts(scores, labels, "roc")
    return (trapezoid(try curve(counts)), try averagePrecision(counts: counts))
  }

  static func trapezoid(_ c: (fpr: [Double], tpr: [Double], thresholds: [Double])) -> Double {
    var area = 0.0
    for i in 1..<c.fpr.count { area += (c.fpr[i] - c.fpr[i - 1]) * (c.tpr[i] + c.tpr[i - 1]) / 2 }
    return area
  }

  static func averagePrecision(counts: ([Double], [Double], [Double])) throws -> Double {
    let (tps, fps, _) = counts
    let p = tps.last!
    guard p > 0 else { throw TensorError("average_precision: labels have no positives") }
    var ap = 0.0, lastRecall = 0.0
    for i in 0..<tps.count {
      let recall = tps[i] / p, precision = tps[i] / (tps[i] + fps[i])
      ap += (recall - lastRecall) * precision
      lastRecall = recall
    }
    return ap
  }

  /// True and false positive counts at each distinct score, highest first.
  static func cumulativeCounts(_ scores: [Float], _ labels: [Float], _ op: String) throws -> ([Double], [Double], [Double]) {
    guard scores.count == labels.count else {
      throw TensorError("\(op): \(scores.count) scores but \(labels.count) labels")
    }
    guard !scores.isEmpty else { throw TensorError("\(op): no scores") }
    if let bad = labels.first(where: { $0 != 0 && $0 != 1 }) {
      throw TensorError("\(op): labels must be 0 or 1, got \(bad)")
    }
    if scores.contains(where: { $0.isNaN }) { throw TensorError("\(op): scores contain NaN") }
    let order = scores.indices.sorted { scores[$0] > scores[$1] }
    var tps: [Double] = [], fps: [Double] = [], thr: [Double] = []
    var tp = 0.0, fp = 0.0
    for (j, i) in order.enumerated() {
      if labels[i] == 1 { tp += 1 } else { fp += 1 }
      if j == order.count - 1 || scores[order[j + 1]] != scores[i] {
        tps.append(tp); fps.append(fp); thr.append(Double(scores[i]))
      }
    }
    return (tps, fps, thr)
  }

  /// The area under the per-region-overlap curve up to `fprLimit`, divided
  /// by `fprLimit` (MVTec AD's evaluation): regions are the 8-connected
  /// components of each ground-truth mask; FPR counts all background pixels
  /// of all images; PRO is the mean overlap over regions; the curve is cut at
  /// the limit by linear interpolation and integrated by trapezoids.
  public static func aupro(maps: Tensor, masks: Tensor, fprLimit: Double = 0.3) throws -> Double {
    guard maps.shape == masks.shape, maps.rank >= 2 else {
      throw TensorError("aupro: maps \(maps.shape.shapeString) and masks \(masks.shape.shapeString) must have the same shape [N,1,H,W] or [N,H,W]")
    }
    guard fprLimit > 0, fprLimit <= 1 else { throw TensorError("aupro: fpr_limit must be in (0, 1], got \(fprLimit)") }
    let h = maps.shape[maps.rank - 2], w = maps.shape[maps.rank - 1]
    let images = maps.count / (h * w)
    var fpChange = [Double](repeating: 0, count: maps.count)
    var proChange = [Double](repeating: 0, count: maps.count)
    var okPixels = 0.0, regions = 0.0
    for img in 0..<images {
      let base = img * h * w
      let labels = connectedComponents(Array(masks.data[base..<(base + h * w)]), h, w)
      var sizes: [Int: Int] = [:]
      for l in labels where l > 0 { sizes[l, default: 0] += 1 }
      regions += Double(sizes.count)
      for i in 0..<(h * w) {
        if labels[i] == 0 { fpChange[base + i] = 1; okPixels += 1 } else { proChange[base + i] = 1 / Double(sizes[labels[i]]!) }
      }
    }
    guard regions > 0 else { throw TensorError("aupro: the masks contain no defect region") }
    guard okPixels > 0 else { throw TensorError("aupro: the masks contain no background pixel") }
    let order = maps.data.indices.sorted { maps.data[$0] > maps.data[$1] }
    var fprs: [Double] = [0], pros: [Double] = [0]
    var fp = 0.0, pro = 0.0
    for (j, i) in order.enumerated() {
      fp += fpChange[i]; pro += proChange[i]
      if j == order.count - 1 || maps.data[order[j + 1]] != maps.data[i] {
        fprs.append(min(fp / okPixels, 1)); pros.append(min(pro / regions, 1))
      }
    }
    fprs.append(1); pros.append(1)
    // Trapezoids up to the limit, plus the interpolated piece past the last point.
    var area = 0.0
    for i in 1..<fprs.count {
      if fprs[i] <= fprLimit {
        area += (fprs[i] - fprs[i - 1]) * (pros[i] + pros[i - 1]) / 2
      } else {
        if fprs[i - 1] < fprLimit {
          let t = (fprLimit - fprs[i - 1]) / (fprs[i] - fprs[i - 1])
          let y = pros[i - 1] + t * (pros[i] - pros[i - 1])
          area += (fprLimit - fprs[i - 1]) * (y + pros[i - 1]) / 2
        }
        break
      }
    }
    return area / fprLimit
  }

  /// 8-connected component labels (1, 2, …) of the non-zero pixels; 0 is background.
  static func connectedComponents(_ mask: [Float], _ h: Int, _ w: Int) -> [Int] {
    var labels = [Int](repeating: 0, count: h * w)
    var next = 0
    var stack: [Int] = []
    for start in 0..<(h * w) where mask[start] > 0.5 && labels[start] == 0 {
      next += 1
      labels[start] = next
      stack.append(start)
      while let p = stack.popLast() {
        let y = p / w, x = p % w
        for dy in -1...1 { for dx in -1...1 {
          let ny = y + dy, nx = x + dx
          guard ny >= 0, ny < h, nx >= 0, nx < w else { continue }
          let q = ny * w + nx
          if mask[q] > 0.5 && labels[q] == 0 { labels[q] = next; stack.append(q) }
        } }
      }
    }
    return labels
  }
}
