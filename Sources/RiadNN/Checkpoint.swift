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

  /// The element types a safetensors file may hold, with their sizes in bytes.
  /// Floating types are converted to Float; integer and boolean tensors too
  /// (exactly up to 2²⁴), which is all a count like `num_batches_tracked` needs.
  static let dtypeSizes: [String: Int] = [
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2,
    "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
  ]

  /// Reads every tensor of a safetensors file as F32, its element type as
  /// written, and the metadata.
  public static func read(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String], dtypes: [String: String]) {
    guard let data = FileManager.default.contents(atPath: path) else {
      var isDir: ObjCBool = false
      if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
        throw TensorError("load: '\(path)' is a folder, not a checkpoint file")
      }
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
    // The data section follows the header; tensors are decoded straight from the file's bytes.
    let base = 8 + Int(n), bodyCount = data.count - base
    var tensors: [String: Tensor] = [:]
    var metadata: [String: String] = [:]
    var dtypes: [String: String] = [:]
    for (name, value) in header {
      if name == "__metadata__" {
        for (k, v) in value as? [String: Any] ?? [:] { metadata[k] = v as? String }
        continue
      }
      guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
            let shape = (entry["shape"] as? [NSNumber])?.map(\.intValue), shape.allSatisfy({ $0 >= 0 }),
            let offsets = (entry["data_offsets"] as? [NSNumber])?.map(\.intValue), offsets.count == 2 else {
        throw TensorError("load: '\(path)': malformed entry for tensor '\(name)'")
      }
      guard let size = dtypeSizes[dtype] else {
        throw TensorError("load: '\(path)': tensor '\(name)' is \(dtype); riad reads F32, F16, BF16, F64 and integer tensors")
      }
      let (a, b) = (offsets[0], offsets[1])
      guard a >= 0, b >= a, b <= bodyCount, (b - a) == shape.product * size else {
        throw TensorError("load: '\(path)' is truncated or corrupt: tensor '\(name)' needs bytes \(a)..<\(b) of \(bodyCount)")
      }
      tensors[name] = Tensor(shape: shape, data: data.withUnsafeBytes {
        decode(UnsafeRawBufferPointer(rebasing: $0[(base + a)..<(base + b)]), dtype, count: shape.product)
      })
      dtypes[name] = dtype
    }
    return (tensors, metadata, dtypes)
  }

  /// Little-endian elements of `dtype` as Floats.
  static func decode(_ raw: UnsafeRawBufferPointer, _ dtype: String, count: Int) -> [Float] {
    func each<T: FixedWidthInteger>(_: T.Type, _ f: (T) -> Float) -> [Float] {
      (0..<count).map { f(T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self))) }
    }
    switch dtype {
    case "F32": return each(UInt32.self) { Float(bitPattern: $0) }
    case "F64": return each(UInt64.self) { Float(Double(bitPattern: $0)) }
    case "BF16": return each(UInt16.self) { Float(bitPattern: UInt32($0) << 16) }
    case "F16": return each(UInt16.self, halfToFloat)
    case "I64": return each(Int64.self) { Float($0) }
    case "I32": return each(Int32.self) { Float($0) }
    case "I16": return each(Int16.self) { Float($0) }
    case "I8": return each(Int8.self) { Float($0) }
    case "U64": return each(UInt64.self) { Float($0) }
    case "U32": return each(UInt32.self) { Float($0) }
    case "U16": return each(UInt16.self) { Float($0) }
    default: return each(UInt8.self) { Float($0) }  // U8, BOOL
    }
  }

  /// IEEE binary16 → binary32, exactly (subnormals, infinities and NaN included).
  public static func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31, exponent = Int(h >> 10) & 0x1F, fraction = UInt32(h & 0x3FF)
    switch exponent {
    case 0:  // zero or subnormal: fraction · 2⁻²⁴
      let magnitude = Float(fraction) * 0x1p-24
      return sign != 0 ? -magnitude : magnitude
    case 31: return Float(bitPattern: sign | 0x7F80_0000 | (fraction << 13))
    default: return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (fraction << 13))
    }
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

/// The prefix of an optimizer's buffers in a training checkpoint:
/// `optimizer.exp_avg.down1.conv1.weight` is Adam's first moment of that parameter.
let optimizerPrefix = "optimizer."

extension UNet {
  /// Saves every parameter and buffer with the config in `__metadata__`.
  /// With an optimizer it is a training checkpoint: the optimizer's buffers
  /// and settings, its training run and the session's generator come too,
  /// so that `loadTraining` continues exactly where this left off.
  public func save(to path: String, optimizer: Optimizer? = nil, generator: RandomGenerator? = nil) throws {
    var tensors = namedTensors.map { ($0.name, $0.tensor) }
    var metadata = ["format": "riad", "model": "unet", "config": config.json]
    if let optimizer {
      let names = Dictionary(namedTensors.filter(\.trainable).map { (ObjectIdentifier($0.tensor), $0.name) }, uniquingKeysWith: { a, _ in a })
      let order = try optimizer.parameters.map { p -> String in
        guard let name = names[ObjectIdentifier(p)] else {
          throw TensorError("save: the optimizer updates a tensor \(p.shape.shapeString) that is not a parameter of this model")
        }
        return name
      }
      for (buffer, values) in optimizer.buffers {
        for (name, (p, v)) in zip(order, zip(optimizer.parameters, values)) {
          tensors.append((optimizerPrefix + buffer + "." + name, Tensor(shape: p.shape, data: v)))
        }
      }
      var settings = optimizer.settings
      settings.params = order
      metadata["optimizer"] = try jsonText(settings)
      if let run = optimizer.run { metadata["training"] = try jsonText(run) }
    }
    if let generator { metadata["generator"] = generator.state }
    try Safetensors.write(tensors, metadata: metadata, to: path)
  }

  /// Rebuilds a U-Net from a checkpoint written by riad, or from a U-Net
  /// state_dict written by PyTorch (`safetensors.torch.save_file`): without
  /// riad's metadata the configuration is read off the shapes, and `out`
  /// names the output activation (sigmoid unless given). A training
  /// checkpoint loads as its model.
  public static func load(from path: String, out: String? = nil) throws -> UNet {
    let (all, meta, dtypes) = try Safetensors.read(path)
    return try load(all, meta: meta, dtypes: dtypes, out: out, source: path)
  }

  /// The model of a checkpoint already read (`load(from:)` and `loadTraining`).
  static func load(_ all: [String: Tensor], meta: [String: String], dtypes: [String: String],
                   out: String?, source path: String) throws -> UNet {
    var tensors = all.filter { !$0.key.hasPrefix(optimizerPrefix) }
    var config: UNetConfig
    if let model = meta["model"], model != "unet" {
      throw TensorError("load: '\(path)' is a checkpoint of a model \"\(model)\", not a U-Net")
    }
    if let configJSON = meta["config"] {
      guard let c = try? JSONDecoder().decode(UNetConfig.self, from: Data(configJSON.utf8)) else {
        throw TensorError("load: '\(path)': cannot read the config \(configJSON)")
      }
      config = c
    } else {
      tensors = stripPrefix(tensors)
      config = try inferConfig(tensors, dtypes: dtypes, source: path)
    }
    if let out { config.out = out }
    do { try config.validate() } catch let e as TensorError { throw TensorError("load: '\(path)': \(e.message)") }
    var rng = RandomGenerator(seed: 0)
    let net = try UNet(config, rng: &rng)
    try net.loadState(tensors, source: path)
    return net
  }

  /// A training checkpoint: the model, its optimizer in the state it was
  /// saved in (moments, step count, learning rate, training run), and the
  /// session generator's state when one was saved.
  public static func loadTraining(from path: String) throws -> (net: UNet, optimizer: Optimizer, generator: RandomGenerator?) {
    let (all, meta, dtypes) = try Safetensors.read(path)
    guard let settingsJSON = meta["optimizer"] else {
      throw TensorError("load_training: '\(path)' holds a model but no optimizer (write it with save(net, path, opt: opt)); load(path) reads the model")
    }
    guard let settings = try? JSONDecoder().decode(OptimizerSettings.self, from: Data(settingsJSON.utf8)) else {
      throw TensorError("load_training: '\(path)': cannot read the optimizer settings \(settingsJSON)")
    }
    let net = try load(all, meta: meta, dtypes: dtypes, out: nil, source: path)
    let byName = Dictionary(net.namedTensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
    let order = settings.params ?? net.namedTensors.filter(\.trainable).map(\.name)
    let params = try order.map { name -> Tensor in
      guard let t = byName[name] else { throw TensorError("load_training: '\(path)': the optimizer names a parameter '\(name)' the model does not have") }
      return t
    }
    let optimizer: Optimizer
    switch settings.kind {
    case "adam":
      let b = settings.betas ?? [0.9, 0.999]
      guard b.count == 2 else { throw TensorError("load_training: '\(path)': Adam needs two betas, got \(b)") }
      optimizer = Adam(params, lr: settings.lr, betas: (b[0], b[1]), eps: settings.eps ?? 1e-8, weightDecay: settings.weightDecay)
    case "sgd":
      optimizer = SGD(params, lr: settings.lr, momentum: settings.momentum ?? 0, weightDecay: settings.weightDecay)
    default:
      throw TensorError("load_training: '\(path)': unknown optimizer \"\(settings.kind)\" (riad has adam and sgd)")
    }
    var buffers: [String: [[Float]]] = [:]
    for (buffer, _) in optimizer.buffers {
      buffers[buffer] = try zip(order, params).map { name, p -> [Float] in
        let key = optimizerPrefix + buffer + "." + name
        guard let t = all[key] else { throw TensorError("load_training: '\(path)' has no tensor '\(key)'") }
        guard t.shape == p.shape else {
          throw TensorError("load_training: '\(path)': '\(key)' has shape \(t.shape.shapeString), expected \(p.shape.shapeString)")
        }
        return t.data
      }
    }
    do { try optimizer.restore(settings, buffers: buffers) } catch let e as TensorError { throw TensorError("load_training: '\(path)': \(e.message)") }
    if let runJSON = meta["training"] {
      guard let run = try? JSONDecoder().decode(TrainingRun.self, from: Data(runJSON.utf8)), RandomGenerator(state: run.generator) != nil else {
        throw TensorError("load_training: '\(path)': cannot read the training run \(runJSON)")
      }
      optimizer.run = run
    }
    var generator: RandomGenerator? = nil
    if let g = meta["generator"] {
      guard let state = RandomGenerator(state: g) else { throw TensorError("load_training: '\(path)': cannot read the generator state \"\(g)\"") }
      generator = state
    }
    return (net, optimizer, generator)
  }

  /// Drops a prefix that every name shares, as DistributedDataParallel's
  /// `module.` or a wrapper's attribute name, when what follows is a U-Net's names.
  static func stripPrefix(_ tensors: [String: Tensor]) -> [String: Tensor] {
    guard tensors["down1.conv1.weight"] == nil,
          let key = tensors.keys.first(where: { $0.hasSuffix(".down1.conv1.weight") || $0 == "down1.conv1.weight" }) else { return tensors }
    let prefix = String(key.dropLast("down1.conv1.weight".count))
    guard tensors.keys.allSatisfy({ $0.hasPrefix(prefix) }) else { return tensors }
    return Dictionary(uniqueKeysWithValues: tensors.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
  }

  /// The configuration of a PyTorch state_dict, read off its shapes:
  /// channels and base from the first convolution, depth from the blocks.
  static func inferConfig(_ tensors: [String: Tensor], dtypes: [String: String], source: String) throws -> UNetConfig {
    guard let first = tensors["down1.conv1.weight"] else {
      let names = tensors.keys.sorted().prefix(4).map { "'\($0)'" }.joined(separator: ", ")
      throw TensorError("load: '\(source)' is not a U-Net state_dict: it has no tensor 'down1.conv1.weight' (nor riad's metadata)"
                        + (names.isEmpty ? "; it holds no tensors" : "; its tensors begin \(names)"))
    }
    guard first.rank == 4, first.shape[2] == 3, first.shape[3] == 3 else {
      throw TensorError("load: '\(source)': 'down1.conv1.weight' has shape \(first.shape.shapeString), a U-Net's is [base, channels, 3, 3]")
    }
    var depth = 1
    while tensors["down\(depth + 1).conv1.weight"] != nil { depth += 1 }
    return UNetConfig(channels: first.shape[1], base: first.shape[0], depth: depth, out: "sigmoid")
  }

  /// Copies values into this model's tensors; names and shapes must match
  /// exactly (PyTorch's `num_batches_tracked` counters are accepted and ignored).
  public func loadState(_ tensors: [String: Tensor], source: String) throws {
    let mine = namedTensors
    for nt in mine {
      guard let t = tensors[nt.name] else {
        throw TensorError("load: '\(source)' has no tensor '\(nt.name)' (expected \(nt.tensor.shape.shapeString) for \(config.summary)); is it from another model?")
      }
      guard t.shape == nt.tensor.shape else {
        throw TensorError("load: '\(source)': '\(nt.name)' has shape \(t.shape.shapeString), \(config.summary) expects \(nt.tensor.shape.shapeString)")
      }
    }
    let known = Set(mine.map(\.name))
    if let extra = tensors.keys.sorted().first(where: { !known.contains($0) && !$0.hasSuffix("num_batches_tracked") }) {
      throw TensorError("load: '\(source)' has a tensor '\(extra)' \(tensors[extra]!.shape.shapeString) that \(config.summary) does not")
    }
    for nt in mine { nt.tensor.assign(tensors[nt.name]!.data) }
  }
}

/// A Codable value as compact JSON text (for checkpoint metadata).
func jsonText<T: Encodable>(_ value: T) throws -> String {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.sortedKeys]
  return String(decoding: try encoder.encode(value), as: UTF8.self)
}
