import Foundation
import RiadTensor

/// Safetensors files: an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte range, then the raw data.
/// riad writes F32 only, and `__metadata__` carries the model config.
public enum Safetensors {
  /// Writes `tensors` (in order) to `path` atomically: a temporary file in
  /// the same folder is written in full, then renamed over the target.
  public static func write(_ tensors: [(String, Tensor)], metadata: [String: String], to path: String) throws {
    var header = "{\"__metadata__\":{"
    header += metadata.sorted { $0.key < $1.key }
      .map { "\(jsonString($0.key)):\(jsonString($0.value))" }.joined(separator: ",")
    header += "}"
    var offset = 0
    for (name, t) in tensors {
      let bytes = t.count * 4
      header += ",\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":\(t.shape.shapeString.replacingOccurrences(of: " ", with: "")),\"data_offsets\":[\(offset),\(offset + bytes)]}"
      offset += bytes
    }
    header += "}"
    while (header.utf8.count + 8) % 8 != 0 { header += " " }  // align the data
    var blob = Data()
    var n = UInt64(header.utf8.count).littleEndian
    blob.append(Data(bytes: &n, count: 8))
    blob.append(header.data(using: .utf8)!)
    for (_, t) in tensors {
      t.data.withUnsafeBufferPointer { p in
        if p.count > 0 { blob.append(UnsafeBufferPointer(start: UnsafeRawPointer(p.baseAddress!).assumingMemoryBound(to: UInt8.self), count: p.count * 4)) }
      }
    }
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent()
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
      throw TensorError("save: folder '\(dir.path)' does not exist")
    }
    let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
    do {
      try blob.write(to: tmp)
      if rename(tmp.path, url.path) != 0 { throw TensorError("save: cannot rename into '\(path)': \(String(cString: strerror(errno)))") }
    } catch {
      try? FileManager.default.removeItem(at: tmp)
      if let e = error as? TensorError { throw e }
      throw TensorError("save: cannot write '\(path)': \(error.localizedDescription)")
    }
  }

  /// Reads every F32 tensor of a safetensors file, and its metadata.
  public static func read(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw TensorError("load: cannot read '\(path)': no such file")
    }
    guard data.count >= 8 else { throw TensorError("load: '\(path)' is not a safetensors file (only \(data.count) bytes)") }
    let n = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
    guard n > 1, n < 100_000_000, 8 + Int(n) <= data.count else {
      throw TensorError("load: '\(path)' is not a safetensors file (bad header length \(n))")
    }
    let headerData = data.subdata(in: 8..<(8 + Int(n)))
    guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
      throw TensorError("load: '\(path)' is not a safetensors file (the header is not JSON)")
    }
    let body = data.subdata(in: (8 + Int(n))..<data.count)
    var tensors: [String: Tensor] = [:]
    var metadata: [String: String] = [:]
    for (name, value) in header {
      if name == "__metadata__" {
        for (k, v) in value as? [String: Any] ?? [:] { metadata[k] = v as? String }
        continue
      }
      guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
            let shape = (entry["shape"] as? [NSNumber])?.map(\.intValue),
            let offsets = (entry["data_offsets"] as? [NSNumber])?.map(\.intValue), offsets.count == 2 else {
        throw TensorError("load: '\(path)': malformed entry for tensor '\(name)'")
      }
      guard dtype == "F32" else { throw TensorError("load: '\(path)': tensor '\(name)' is \(dtype), riad reads F32 only") }
      let (a, b) = (offsets[0], offsets[1])
      guard a >= 0, b >= a, b <= body.count, (b - a) == shape.product * 4 else {
        throw TensorError("load: '\(path)' is truncated or corrupt: tensor '\(name)' needs bytes \(a)..<\(b) of \(body.count)")
      }
      var values = [Float](repeating: 0, count: shape.product)
      values.withUnsafeMutableBytes { dst in
        body.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[a..<b])) }
      }
      tensors[name] = Tensor(shape: shape, data: values.map { Float(bitPattern: $0.bitPattern.littleEndian) })
    }
    return (tensors, metadata)
  }

  static func jsonString(_ s: String) -> String {
    var out = "\""
    for ch in s.unicodeScalars {
      switch ch {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case _ where ch.value < 0x20: out += String(format: "\\u%04x", ch.value)
      default: out.unicodeScalars.append(ch)
      }
    }
    return out + "\""
  }
}

extension UNet {
  /// Saves every parameter and buffer with the config in `__metadata__`.
  public func save(to path: String) throws {
    try Safetensors.write(namedTensors.map { ($0.name, $0.tensor) },
                          metadata: ["format": "riad", "model": "unet", "config": config.json], to: path)
  }

  /// Rebuilds a U-Net from a checkpoint written by riad or by the PyTorch reference.
  public static func load(from path: String) throws -> UNet {
    let (tensors, meta) = try Safetensors.read(path)
    guard meta["model"] == "unet", let configJSON = meta["config"] else {
      throw TensorError("load: '\(path)' is not a riad U-Net checkpoint (its __metadata__ has no model \"unet\" and config)")
    }
    guard let config = try? JSONDecoder().decode(UNetConfig.self, from: Data(configJSON.utf8)) else {
      throw TensorError("load: '\(path)': cannot read the config \(configJSON)")
    }
    var rng = RandomGenerator(seed: 0)
    let net = try UNet(config, rng: &rng)
    try net.loadState(tensors, source: path)
    return net
  }

  /// Copies values into this model's tensors; names and shapes must match exactly.
  public func loadState(_ tensors: [String: Tensor], source: String) throws {
    let mine = namedTensors
    for nt in mine {
      guard let t = tensors[nt.name] else {
        throw TensorError("load: '\(source)' has no tensor '\(nt.name)' (is it from another model?)")
      }
      guard t.shape == nt.tensor.shape else {
        throw TensorError("load: '\(source)': '\(nt.name)' has shape \(t.shape.shapeString), the model expects \(nt.tensor.shape.shapeString)")
      }
    }
    let known = Set(mine.map(\.name))
    if let extra = tensors.keys.sorted().first(where: { !known.contains($0) && !$0.hasSuffix("num_batches_tracked") }) {
      throw TensorError("load: '\(source)' has a tensor '\(extra)' that this U-Net does not")
    }
    for nt in mine { nt.tensor.assign(tensors[nt.name]!.data) }
  }
}
