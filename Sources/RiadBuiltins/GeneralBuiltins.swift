import Foundation
import RiadLang
import RiadTensor

extension Session {
  func generalBuiltins() -> [Builtin] {
    let cat = "General"
    return [
      Builtin("print", category: cat, params: [BuiltinParam("values", .any, "the values to print", variadic: true)],
              summary: "Prints its arguments separated by one space (strings without quotes).",
              example: "print(\"loss\", 0.25, [1, 2])") { [unowned self] a in
        self.say(try a.list("values").map(Format.plain).joined(separator: " "))
        return .none
      },
      Builtin("help", category: cat, params: [P("name", .either([.string, .function]), "the builtin to describe", nilDefault)],
              summary: "Describes a builtin (its parameters, discussion and example), or lists them all.",
              example: "help(\"masks\")") { [unowned self] a in
        switch a["name"] {
        case .none:
          var s = ""
          for c in self.registry.categories {
            s += "\(c): " + self.registry.all.filter { $0.category == c }.map(\.name).joined(separator: " ") + "\n"
          }
          self.say(s + "help(name) or ?name describes one.")
        case .builtin(let b): self.say(self.registry.help(b))
        case .string(let n):
          guard let b = self.registry[n] else { throw BuiltinError("help: no builtin named '\(n)'" + didYouMean(n, self.registry.names)) }
          self.say(self.registry.help(b))
        case .function(let c):
          self.say("fn \(c.decl.name)(\(c.decl.params.map(\.name).joined(separator: ", "))), defined at \(c.decl.range)")
        case let v: self.say(Format.repr(v))   // a model: its one-line description
        }
        return .none
      },
      Builtin("type", category: cat, params: [P("x", .any, "any value")],
              summary: "The type of a value: \"number\", \"string\", \"bool\", \"nil\", \"list\", \"record\", \"range\", \"tensor\", \"function\", \"model\", \"optimizer\" or \"dataset\".",
              example: "type(zeros([2, 2]))") { a in .string(a["x"].typeName) },
      Builtin("len", category: cat, params: [P("x", .collection, "a collection")],
              summary: "The number of items: list items, characters, record fields, range integers, or a tensor's first extent.",
              example: "len([1, 2, 3])") { a in
        switch a["x"] {
        case .list(let l): return num(Double(l.items.count))
        case .string(let s): return num(Double(s.count))
        case .record(let r): return num(Double(r.keys.count))
        case .range(let lo, let hi): return num(Double(max(0, hi - lo)))
        case .tensor(let t): return num(Double(t.rank == 0 ? 1 : t.shape[0]))
        case let v: throw BuiltinError("len: \(v.brief) has no length")   // the declaration lets none through
        }
      },
      Builtin("range", category: cat, params: [P("a", .number, "start (or the end when b is nil)"), P("b", .number, "end, exclusive", nilDefault),
                                               P("step", .nonzero, "increment", num(1))],
              summary: "The list a, a+step, … up to but not including b; range(n) is 0..n-1.",
              example: "range(0, 10, 3)") { a in
        var lo = try a.number("a"), hi = try a.optionalNumber("b") ?? lo
        if a.isNil("b") { lo = 0 }
        let step = try a.number("step")
        guard abs((hi - lo) / step) < 10_000_000 else { throw BuiltinError("range: too many items") }
        return .list(Array(stride(from: lo, to: hi, by: step)).map { .number($0) })
      },
      Builtin("map", category: cat, params: [P("xs", .list, "the items"), P("f", .function, "called on each item")],
              summary: "A new list of f(x) for every x in xs.", example: "map([1, 2, 3], fn(x) { x * x })") { a in
        let f = try a.function("f")
        return .list(try a.list("xs").map { try a.interpreter.call(f, [$0]) })
      },
      Builtin("filter", category: cat, params: [P("xs", .list, "the items"), P("f", .function, "keeps x when f(x) is true")],
              summary: "The items of xs for which f returns true.", example: "filter(range(10), fn(x) { x % 2 == 0 })") { a in
        let f = try a.function("f")
        return .list(try a.list("xs").filter { x in
          guard case .bool(let keep) = try a.interpreter.call(f, [x]) else { throw BuiltinError("filter: the function must return true or false") }
          return keep
        })
      },
      Builtin("keys", category: cat, params: [P("r", .record, "a record")],
              summary: "The field names of a record, in order.", example: "keys({a: 1, b: 2})") { a in
        .list(try a.record("r").keys.map { .string($0) })
      },
      Builtin("str", category: cat, params: [P("x", .any, "any value")],
              summary: "The text form of a value (strings unchanged).", example: "str(3) + \" cells\"") { a in
        .string(Format.plain(a["x"]))
      },
      Builtin("num", category: cat, params: [P("x", .either([.string, .number]), "what to convert")],
              summary: "A number from a string, a bool or a one-element tensor.", example: "num(\"2.5\") * 2") { a in
        switch a["x"] {
        case .string(let s):
          guard let v = Double(s.trimmingCharacters(in: .whitespaces)) else { throw BuiltinError("num: \"\(s)\" is not a number") }
          return num(v)
        default: return num(try a.number("x"))
        }
      },
    ] + mathBuiltins() + systemBuiltins()
  }

  /// abs floor ceil round sqrt exp log on numbers and, elementwise, on tensors; min and max.
  func mathBuiltins() -> [Builtin] {
    let cat = "General"
    let unary: [(String, String, (Double) -> Double, UnaryOp)] = [
      ("abs", "absolute value", Swift.abs, .abs), ("floor", "round down", { $0.rounded(.down) }, .floor),
      ("ceil", "round up", { $0.rounded(.up) }, .ceil), ("round", "round to nearest, ties to even", { $0.rounded(.toNearestOrEven) }, .round),
      ("sqrt", "square root", { $0.squareRoot() }, .sqrt), ("exp", "e to the power x", Foundation.exp, .exp),
      ("log", "natural logarithm", Foundation.log, .log),
    ]
    var out = unary.map { name, what, f, op in
      Builtin(name, category: cat, params: [P("x", .numberOrTensor, "the input")],
              summary: "The \(what) of a number, or of every element of a tensor.", example: "\(name)(2.5)") { a in
        if case .tensor(let t) = a["x"] { return .tensor(t.unary(op)) }
        return num(f(try a.number("x")))
      }
    }
    for (name, isMax) in [("max", true), ("min", false)] {
      out.append(Builtin(name, category: cat,
                         params: [BuiltinParam("values", .any, "numbers, a list of numbers or one tensor", variadic: true),
                                  P("dim", .integer, "for a tensor: reduce along this dimension only", nilDefault)],
                         summary: "The \(isMax ? "largest" : "smallest") of several numbers or of a list; for a tensor, of all elements or along dim.",
                         example: "\(name)(3, 7, 5)\n\(name)(tensor([[1, 9], [4, 2]]), dim: 1)") { a in
        let values = try a.list("values")
        if values.count == 1, case .tensor(let t) = values[0] {
          let d = try a.optionalInt("dim")
          let r = isMax ? try t.max(dim: d) : try t.min(dim: d)
          // A number, unless autograd tracks it (as sum and mean).
          return d == nil && !r.requiresGrad ? num(Double(r.data[0])) : .tensor(r)
        }
        var items = values
        if values.count == 1, case .list(let l) = values[0] { items = l.items }
        guard !items.isEmpty else { throw BuiltinError("\(name): no values") }
        let nums = try items.map { v -> Double in
          guard case .number(let x) = v else { throw BuiltinError("\(name): expected numbers, got \(v.brief)") }
          return x
        }
        return num(isMax ? nums.max()! : nums.min()!)
      })
    }
    return out
  }

  func systemBuiltins() -> [Builtin] {
    let cat = "General"
    return [
      Builtin("clock", category: cat, summary: "Seconds since an arbitrary start, for timing.", example: "t = clock()\nelapsed = clock() - t") { _ in
        num(Double(DispatchTime.now().uptimeNanoseconds) / 1e9)
      },
      Builtin("memory", category: cat,
              summary: "This process's memory in MiB: {rss_mb: resident now, peak_mb: the most it has held}.",
              discussion: "Read from /proc/self/status (VmRSS, VmHWM); for watching a long session or a loop that should not grow.",
              example: "m = memory()\nm.rss_mb > 0") { _ in
        let (rss, peak) = processMemory()
        return .record([("rss_mb", num(rss)), ("peak_mb", num(peak))])
      },
      Builtin("seed", category: cat, params: [P("n", .integer(min: 0), "the seed, ≥ 0")],
              summary: "Resets the global random generator that draws happen from when no seed is given.",
              example: "seed(42)\nrand([2])") { a in
        globalGenerator = RandomGenerator(seed: UInt64(try a.int("n")))
        return .none
      },
      Builtin("assert", category: cat, params: [P("c", .bool, "the condition"), P("msg", .string, "the error message", .string("assertion failed"))],
              summary: "Stops with an error carrying msg unless c is true.", example: "assert(1 + 1 == 2, \"arithmetic\")") { a in
        guard try a.bool("c") else { throw BuiltinError(try a.string("msg")) }
        return .none
      },
      Builtin("to_json", category: cat, params: [P("x", .any, "numbers, strings, bools, nil, lists, records, small tensors")],
              summary: "The JSON text of a value (tensors become nested lists).", example: "to_json({auroc: 0.9, ks: [2, 4]})") { a in
        .string(try JSON.encode(a["x"]))
      },
      Builtin("read_json", category: cat, params: [P("path", .string, "a JSON file")],
              summary: "Reads a JSON file into numbers, strings, bools, nil, lists and records.",
              example: "write_file(\"/tmp/riad-example.json\", to_json({a: [1, 2]}))\nread_json(\"/tmp/riad-example.json\")") { a in
        let path = try a.string("path")
        guard let data = FileManager.default.contents(atPath: path) else { throw BuiltinError("read_json: cannot read '\(path)': no such file") }
        return try JSON.decode(data, path)
      },
      Builtin("write_file", category: cat, params: [P("path", .string, "the file to write"), P("text", .string, "its contents")],
              summary: "Writes text to a file (atomically: a temporary file, then a rename).",
              example: "write_file(\"/tmp/riad-example.txt\", \"hello\\n\")") { a in
        let path = try a.string("path")
        do { try Data(try a.string("text").utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
          throw BuiltinError("write_file: cannot write '\(path)': \(error.localizedDescription)")
        }
        return .none
      },
      Builtin("temp_dir", category: cat, params: [P("prefix", .string, "the start of the folder's name", .string("riad"))],
              summary: "Creates a new empty folder under the system's temporary directory and returns its path.",
              discussion: "Each call makes a different folder (mkdtemp), so a script can write there without touching earlier runs.",
              example: "d = temp_dir()\nexists(d)") { a in
        let prefix = try a.string("prefix")
        guard !prefix.contains("/") else { throw BuiltinError("temp_dir: prefix must be a name, not a path, got '\(prefix)'") }
        let base = (ProcessInfo.processInfo.environment["TMPDIR"].map { $0.isEmpty ? nil : $0 } ?? nil) ?? "/tmp"
        var template = Array(((base as NSString).appendingPathComponent(prefix + "-XXXXXX")).utf8CString)
        guard let made = mkdtemp(&template) else {
          throw BuiltinError("temp_dir: cannot create a folder in '\(base)': \(String(cString: strerror(errno)))")
        }
        return .string(String(cString: made))
      },
      Builtin("mkdir", category: cat, params: [P("path", .string, "the folder to create, with any missing parents")],
              summary: "Creates a folder (and its parents); nothing happens when it exists.",
              example: "mkdir(\"/tmp/riad-example-folder/inner\")\nexists(\"/tmp/riad-example-folder/inner\")") { a in
        let path = try a.string("path")
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
          throw BuiltinError("mkdir: cannot create '\(path)': \(error.localizedDescription)")
        }
        return .none
      },
      Builtin("exists", category: cat, params: [P("path", .string, "a file or folder")],
              summary: "Whether a file or folder exists.", example: "exists(\"/tmp\")") { a in
        .bool(FileManager.default.fileExists(atPath: try a.string("path")))
      },
      Builtin("ls", category: cat, params: [P("dir", .string, "a folder", .string("."))],
              summary: "The sorted names in a folder.", example: "ls(\"/\")") { a in
        let dir = try a.string("dir")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
          throw BuiltinError("ls: cannot list '\(dir)': no such folder")
        }
        return .list(names.sorted().map { .string($0) })
      },
      Builtin("run", category: cat, params: [P("path", .string, "a .riad script")],
              summary: "Runs a script in this session: its variables and functions stay defined.",
              example: "write_file(\"/tmp/riad-example.riad\", \"answer = 42\\n\")\nrun(\"/tmp/riad-example.riad\")\nanswer") { a in
        let path = try a.string("path")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw BuiltinError("run: cannot read '\(path)': no such file") }
        try a.interpreter.run(SourceFile(name: path, text: text))
        return .none
      },
    ]
  }
}

/// JSON in and out for script values.
enum JSON {
  static func encode(_ v: Value) throws -> String {
    switch v {
    case .number(let x):
      guard x.isFinite else { throw BuiltinError("to_json: \(formatNumber(x)) has no JSON form") }
      return formatNumber(x)
    case .string(let s): return Format.quote(s)
    case .bool(let b): return b ? "true" : "false"
    case .none: return "null"
    case .list(let l): return "[" + (try l.items.map(encode)).joined(separator: ", ") + "]"
    case .range(let a, let b): return "[" + (a..<max(a, b)).map(String.init).joined(separator: ", ") + "]"
    case .record(let r): return "{" + (try r.pairs.map { "\(Format.quote($0.0)): \(try encode($0.1))" }).joined(separator: ", ") + "}"
    case .tensor(let t): return try encode(Convert.list(t))
    default: throw BuiltinError("to_json: \(v.brief) has no JSON form")
    }
  }

  static func decode(_ data: Data, _ path: String) throws -> Value {
    guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
      throw BuiltinError("read_json: '\(path)' is not valid JSON")
    }
    func convert(_ o: Any) -> Value {
      switch o {
      case let b as Bool where type(of: o) == Bool.self: return .bool(b)
      case let n as NSNumber:
        // corelibs Foundation marks JSON booleans with the "c" (char) type code
        if String(cString: n.objCType) == "c" { return .bool(n.boolValue) }
        return .number(n.doubleValue)
      case let s as String: return .string(s)
      case let a as [Any]: return .list(a.map(convert))
      case let d as [String: Any]: return .record(d.keys.sorted().map { ($0, convert(d[$0]!)) })
      default: return .none
      }
    }
    return convert(object)
  }
}

/// Resident and peak memory in MiB, from /proc/self/status (Linux), else
/// the peak from getrusage for both.
func processMemory() -> (rss: Double, peak: Double) {
  func field(_ text: String, _ name: String) -> Double? {
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return nil }
    let kb = line.split(separator: " ").compactMap { Double($0) }.first
    return kb.map { $0 / 1024 }
  }
  if let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
     let rss = field(text, "VmRSS"), let peak = field(text, "VmHWM") {
    return (rss, peak)
  }
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  let peak = Double(usage.ru_maxrss) / 1024
  return (peak, peak)
}
