import Foundation
import RiadImage
import RiadTensor

/// One anomaly-detection category: defect-free training images and a
/// labelled test set with pixel masks (the MVTec AD layout, in memory).
public struct Dataset {
  public var name: String
  public var size: Int
  /// `[N,C,H,W]` defect-free images in [0,1].
  public var train: Tensor
  /// `[M,C,H,W]` test images.
  public var test: Tensor
  /// `[M]`, 1 for a defective image.
  public var labels: Tensor
  /// `[M,1,H,W]` ground truth, 1 on defective pixels.
  public var masks: Tensor
  /// The defect type of each test image, `"good"` for normal ones.
  public var defects: [String]
  /// Where each test image came from.
  public var paths: [String]

  public var channels: Int { train.shape[1] }
  public var defectiveCount: Int { Int(labels.data.reduce(0, +)) }

  public var summary: String {
    "dataset \"\(name)\" \(size)×\(size)×\(channels): train \(train.shape[0]), test \(test.shape[0]) (\(defectiveCount) defective: \(Set(defects.filter { $0 != "good" }).sorted().joined(separator: ", ")))"
  }

  /// Writes the MVTec layout: `train/good/NNN.png`, `test/<defect>/NNN.png`
  /// and `ground_truth/<defect>/NNN_mask.png`.
  public func save(to dir: String) throws {
    let fm = FileManager.default
    func folder(_ parts: String...) throws -> String {
      let path = ([dir] + parts).joined(separator: "/")
      do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        throw TensorError("save_dataset: cannot create folder '\(path)': \(error.localizedDescription)")
      }
      return path
    }
    let trainDir = try folder("train", "good")
    for i in 0..<train.shape[0] {
      try PNG.write(train.indexed([.at(i)]), to: "\(trainDir)/\(String(format: "%03d", i)).png")
    }
    var counters: [String: Int] = [:]
    for i in 0..<test.shape[0] {
      let defect = defects[i]
      let n = counters[defect, default: 0]
      counters[defect] = n + 1
      let stem = String(format: "%03d", n)
      try PNG.write(test.indexed([.at(i)]), to: "\(try folder("test", defect))/\(stem).png")
      if defect != "good" {
        try PNG.write(masks.indexed([.at(i)]), to: "\(try folder("ground_truth", defect))/\(stem)_mask.png")
      }
    }
  }
}

/// Reading a category stored in the MVTec AD folder layout.
public enum MVTec {
  /// Loads `path/train/good`, `path/test/<defect>` and
  /// `path/ground_truth/<defect>/<stem>_mask.png`, resized to size×size
  /// (area averaging or bilinear for images, nearest for masks, then
  /// binarised). `gray: false` gives 3 channels, `true` gives 1.
  public static func load(_ path: String, size: Int = 256, gray: Bool = false) throws -> Dataset {
    guard size >= 1 else { throw TensorError("mvtec: size must be ≥ 1, got \(size)") }
    let fm = FileManager.default
    var isDir: ObjCBool = false
    guard fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
      throw TensorError("mvtec: folder '\(path)' does not exist")
    }
    func pngs(_ dir: String) throws -> [String] {
      guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        throw TensorError("mvtec: '\(path)' is not an MVTec AD folder: '\(dir)' is missing (expected train/good, test/<defect>, ground_truth/<defect>)")
      }
      return try fm.contentsOfDirectory(atPath: dir).filter { $0.lowercased().hasSuffix(".png") }.sorted()
    }
    let trainDir = "\(path)/train/good"
    let trainFiles = try pngs(trainDir)
    guard !trainFiles.isEmpty else { throw TensorError("mvtec: '\(trainDir)' holds no PNG images") }
    let train = try trainFiles.map { try image("\(trainDir)/\($0)", size, gray) }
    let testRoot = "\(path)/test"
    _ = try pngs(testRoot)
    let defectDirs = try fm.contentsOfDirectory(atPath: testRoot).filter {
      var d: ObjCBool = false
      return fm.fileExists(atPath: "\(testRoot)/\($0)", isDirectory: &d) && d.boolValue
    }.sorted { ($0 == "good" ? "" : $0) < ($1 == "good" ? "" : $1) }
    guard !defectDirs.isEmpty else { throw TensorError("mvtec: '\(testRoot)' has no defect folders (expected test/good and test/<defect>)") }
    var test: [Tensor] = [], masks: [Tensor] = [], labels: [Float] = [], defects: [String] = [], paths: [String] = []
    for defect in defectDirs {
      let dir = "\(testRoot)/\(defect)"
      let files = try pngs(dir)
      guard !files.isEmpty else { throw TensorError("mvtec: '\(dir)' holds no PNG images") }
      for f in files {
        test.append(try image("\(dir)/\(f)", size, gray))
        paths.append("\(dir)/\(f)")
        defects.append(defect)
        if defect == "good" {
          masks.append(Tensor.zeros([1, size, size])); labels.append(0)
        } else {
          let stem = (f as NSString).deletingPathExtension
          let maskPath = "\(path)/ground_truth/\(defect)/\(stem)_mask.png"
          guard fm.fileExists(atPath: maskPath) else {
            throw TensorError("mvtec: the mask of '\(dir)/\(f)' is missing: expected '\(maskPath)'")
          }
          masks.append(try mask(maskPath, size)); labels.append(1)
        }
      }
    }
    return Dataset(name: (path as NSString).lastPathComponent, size: size,
                   train: try Tensor.stack(train), test: try Tensor.stack(test),
                   labels: Tensor(shape: [labels.count], data: labels), masks: try Tensor.stack(masks),
                   defects: defects, paths: paths)
  }

  /// An image file as `[C,size,size]`: alpha dropped; gray replicated to 3
  /// channels, or colour reduced to luma when `gray`.
  public static func image(_ path: String, _ size: Int?, _ gray: Bool) throws -> Tensor {
    let png = try PNG.read(path)
    var t = png.tensor
    let c = png.channels
    if c == 2 || c == 4 { t = try t.indexed([.slice(start: 0, stop: c - 1, step: 1)]) }
    if gray { t = try ImageOps.toGray(t) } else if t.shape[0] == 1 { t = try Tensor.cat([t, t, t], dim: 0) }
    if let size { t = try ImageOps.resize(t, height: size, width: size) }
    return t
  }

  /// A mask file as `[1,size,size]` of 0/1: nearest-neighbour resize (pixel
  /// centres), then > 0.5.
  public static func mask(_ path: String, _ size: Int) throws -> Tensor {
    let png = try PNG.read(path)
    let t = png.tensor
    let (h, w) = (png.height, png.width)
    var out = [Float](repeating: 0, count: size * size)
    for y in 0..<size {
      let sy = min(h - 1, Int((Double(y) + 0.5) * Double(h) / Double(size)))
      for x in 0..<size {
        let sx = min(w - 1, Int((Double(x) + 0.5) * Double(w) / Double(size)))
        out[y * size + x] = t.data[sy * w + sx] > 0.5 ? 1 : 0
      }
    }
    return Tensor(shape: [1, size, size], data: out)
  }
}
