import RiadData
import RiadMethod
import RiadLang
import RiadTensor

extension Session {
  func dataBuiltins() -> [Builtin] {
    let cat = "Data"
    return [
      Builtin("mvtec", category: cat,
              params: [P("path", .string, "a category folder: train/good, test/<defect>, ground_truth/<defect>/<stem>_mask.png"),
                       P("size", .integer(min: 1), "images are resized to size×size", num(256)), P("gray", .bool, "1 channel instead of 3", .bool(false))],
              summary: "Loads one MVTec AD category (8- or 16-bit, gray or colour PNGs; masks resized by nearest neighbour and binarised).",
              example: "save_dataset(synthetic(size: 16, train: 4, test: 4), \"/tmp/riad-example-ds\")\nmvtec(\"/tmp/riad-example-ds\", size: 16)") { a in
        .host(DatasetObject(try MVTec.load(try a.string("path"), size: try a.int("size"), gray: try a.bool("gray"))))
      },
      Builtin("synthetic", category: cat,
              params: [P("kind", .choice(Synthetic.kinds), "texture: \(Synthetic.kinds.map { "\"\($0)\"" }.joined(separator: ", "))", .string("weave")),
                       P("size", .integer(min: 8), "image side", num(64)), P("train", .integer(min: 1), "defect-free training images", num(120)),
                       P("test", .integer(min: 2), "test images, half of them defective", num(60)), P("seed", .integer(min: 0), "the random seed", num(0))],
              summary: "A built-in procedural texture category with exact ground-truth masks (defects: scratch, spot, missing piece, stain).",
              example: "ds = synthetic(kind: \"grid\", size: 32, train: 8, test: 8)\nds.defects") { a in
        .host(DatasetObject(try Synthetic.make(kind: try a.string("kind"), size: try a.int("size"), train: try a.int("train"),
                                               test: try a.int("test"), seed: UInt64(try a.int("seed")))))
      },
      Builtin("save_dataset", category: cat, params: [P("ds", .dataset, "a dataset"), P("dir", .string, "the folder to write (created if needed)")],
              summary: "Writes a dataset in the MVTec AD layout (PNG files), so that other tools can read it.",
              example: "save_dataset(synthetic(size: 16, train: 2, test: 2), \"/tmp/riad-example-save\")") { a in
        try a.host("ds", DatasetObject.self).dataset.save(to: try a.string("dir"))
        return .none
      },
      Builtin("batches", category: cat,
              params: [P("t", .either([.dataset, .tensor]), "[N,…] (a dataset gives its train images)"), P("size", .integer(min: 1), "batch size", num(4)),
                       P("shuffle", .bool, "shuffle the order", .bool(true)), P("seed", .integer(min: 0), "seed for the shuffle; nil uses the global generator", nilDefault)],
              summary: "Splits the first dimension into a list of batches (the last may be smaller).",
              example: "len(batches(zeros([10, 3]), size: 4))") { [unowned self] a in
        let t = try self.trainTensor(a, "t")
        let size = try a.int("size")
        let n = t.shape.first ?? 0
        let order = try a.bool("shuffle") ? self.withGenerator(try a.seed()) { $0.permutation(n) } : Array(0..<n)
        return .list(try stride(from: 0, to: n, by: size).map { s in
          .tensor(try Training.gatherRows(t, Array(order[s..<min(n, s + size)])))
        })
      },
    ]
  }

  /// A tensor argument, or the training images of a dataset argument.
  func trainTensor(_ a: Args, _ name: String) throws -> Tensor {
    if case .host(let h) = a[name], let d = h as? DatasetObject { return d.dataset.train }
    return try a.tensor(name)
  }
}

