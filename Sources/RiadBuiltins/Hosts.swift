import Foundation
import RiadData
import RiadLang
import RiadNN
import RiadTensor

/// A U-Net as a script value: printable, callable (`net(x)`), with fields.
public final class ModelObject: HostObject {
  public let net: UNet
  public init(_ net: UNet) { self.net = net }

  public var typeName: String { "model" }
  public var summary: String {
    let c = net.config
    return "unet(channels: \(c.channels), base: \(c.base), depth: \(c.depth), out: \"\(c.out)\")  \(grouped(net.parameterCount)) parameters  \(net.training ? "train" : "eval") mode"
  }
  public var fieldNames: [String] { ["config", "training", "parameters"] }
  public func field(_ name: String) -> Value? {
    switch name {
    case "config":
      let c = net.config
      return .record([("channels", .number(Double(c.channels))), ("base", .number(Double(c.base))),
                      ("depth", .number(Double(c.depth))), ("out", .string(c.out))])
    case "training": return .bool(net.training)
    case "parameters": return .number(Double(net.parameterCount))
    default: return nil
    }
  }

  /// `net(x)` for a batch `[N,C,H,W]` or one image `[C,H,W]`.
  public func call(_ args: [Value], _ interpreter: Interpreter) throws -> Value? {
    guard args.count == 1 else { throw BuiltinError("a model takes one argument (an image or a batch), got \(args.count)") }
    let x = try Convert.tensor(args[0])
    if x.rank == 3 { return .tensor(try net(x.reshaped([1] + x.shape)).indexed([.at(0)])) }
    return .tensor(try net(x))
  }
}

/// An optimizer as a script value.
public final class OptimizerObject: HostObject {
  public let optimizer: Optimizer
  public init(_ optimizer: Optimizer) { self.optimizer = optimizer }
  public var typeName: String { "optimizer" }
  public var summary: String {
    let count = optimizer.parameters.reduce(0) { $0 + $1.count }
    var s = "\(optimizer.kind)(lr: \(formatNumber(Double(optimizer.learningRate)))"
    if let a = optimizer as? Adam { s += ", weight_decay: \(formatNumber(Double(a.weightDecay)))) after \(a.steps) steps" } else { s += ")" }
    return s + ", \(grouped(count)) parameters"
  }
  public var fieldNames: [String] { ["lr", "steps"] }
  public func field(_ name: String) -> Value? {
    switch name {
    case "lr": return .number(Double(optimizer.learningRate))
    case "steps": return .number(Double((optimizer as? Adam)?.steps ?? 0))
    default: return nil
    }
  }
}

/// A dataset as a script value with the fields of SPEC section 4.
public final class DatasetObject: HostObject {
  public let dataset: Dataset
  public init(_ dataset: Dataset) { self.dataset = dataset }
  public var typeName: String { "dataset" }
  public var summary: String { dataset.summary }
  public var fieldNames: [String] { ["name", "size", "train", "test", "labels", "masks", "defects", "paths"] }
  public func field(_ name: String) -> Value? {
    switch name {
    case "name": return .string(dataset.name)
    case "size": return .number(Double(dataset.size))
    case "train": return .tensor(dataset.train)
    case "test": return .tensor(dataset.test)
    case "labels": return .tensor(dataset.labels)
    case "masks": return .tensor(dataset.masks)
    case "defects": return .list(dataset.defects.map { .string($0) })
    case "paths": return .list(dataset.paths.map { .string($0) })
    default: return nil
    }
  }
}

/// 1929091 → "1,929,091".
func grouped(_ n: Int) -> String {
  let s = String(n)
  var out = ""
  for (i, c) in s.reversed().enumerated() { if i > 0 && i % 3 == 0 { out.append(",") }; out.append(c) }
  return String(out.reversed())
}

/// Shorthands for declaring builtins.
func P(_ name: String, _ type: ParamType, _ help: String, _ def: Value? = nil, shown: String? = nil) -> BuiltinParam {
  BuiltinParam(name, type, help, default: def, shown: shown)
}
func num(_ v: Double) -> Value { .number(v) }

/// The parameter types of the method's builtins.
extension ParamType {
  static var imageOrBatch: ParamType { ParamType.ranked([3, 4], "an image [C,H,W] or a batch [N,C,H,W]") }
  static var image: ParamType { ParamType.ranked([3], "one image [C,H,W]") }
  static var batch: ParamType { ParamType.ranked([4], "a batch [N,C,H,W]") }
}
let nilDefault: Value = .none
