import CBLAS
import CPUFeatures
import Foundation

/// Which OpenBLAS core (the set of kernels a DYNAMIC_ARCH build picks when it
/// loads) riad runs with, and the fix for a core weaker than the processor.
///
/// An OpenBLAS that does not recognise a newer processor falls back to a
/// generic core: Debian 12's 0.3.21 runs Prescott's SSE3 kernels on some
/// Xeons with AVX-512, at a fifth of the speed. OpenBLAS chooses its core
/// when it is loaded, from `OPENBLAS_CORETYPE`; so when the core in use is
/// weaker than what the processor can run, riad starts itself again with
/// `OPENBLAS_CORETYPE` set to the best core for the processor's vector
/// level (`relaunchCore`, called first thing in `main`).
///
/// `RIAD_BLAS_CORE=keep` turns this off, `RIAD_BLAS_CORE=NAME` asks for a
/// core by name, and a user's own `OPENBLAS_CORETYPE` is respected unless
/// `RIAD_BLAS_CORE=auto` says to upgrade it anyway.
public enum BLASCore {
  /// The core OpenBLAS is running with.
  public static var current: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

  /// The processor's vector level: 3 AVX-512, 2 AVX2 + FMA, 1 AVX, 0 older.
  public static var processorLevel: Int { Int(riad_cpu_isa_level()) }

  /// The vector level an OpenBLAS x86-64 core's kernels use, or nil for a
  /// name riad does not know (which it then leaves alone).
  public static func level(_ core: String) -> Int? {
    switch core.lowercased() {
    case "skylakex", "cooperlake", "sapphirerapids": return 3
    case "haswell", "zen", "excavator": return 2
    case "sandybridge", "bulldozer", "piledriver", "steamroller": return 1
    case "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "opteron", "opteron_sse3",
         "barcelona", "bobcat", "katmai", "coppermine", "northwood", "banias", "athlon", "generic":
      return 0
    default: return nil
    }
  }

  /// The core for a processor of vector `level`.
  public static func best(forLevel level: Int) -> String? {
    switch level {
    case 3...: return "SkylakeX"
    case 2: return "Haswell"
    case 1: return "Sandybridge"
    default: return nil
    }
  }

  /// The core riad should relaunch with, given the running core, the
  /// processor's level and the environment; nil to carry on as it is.
  public static func relaunchCore(current: String, processorLevel: Int, environment: [String: String]) -> String? {
    guard environment["RIAD_BLAS_RELAUNCHED"] == nil else { return nil }  // once only
    let asked = environment["RIAD_BLAS_CORE"] ?? ""
    switch asked.lowercased() {
    case "keep": return nil
    case "", "auto":
      if asked.isEmpty, environment["OPENBLAS_CORETYPE"] != nil { return nil }  // the user's choice
      guard let have = level(current), let want = best(forLevel: processorLevel), have < processorLevel else { return nil }
      return want
    default:
      return asked.lowercased() == current.lowercased() ? nil : asked
    }
  }

  /// Why the core is what it is, for `riad doctor`: the core riad replaced,
  /// when it did.
  public static var note: String? {
    let env = ProcessInfo.processInfo.environment
    guard let was = env["RIAD_BLAS_RELAUNCHED"], !was.isEmpty else { return nil }
    if let asked = env["RIAD_BLAS_CORE"], !["", "auto", "keep"].contains(asked.lowercased()) {
      return "RIAD_BLAS_CORE=\(asked) asked for it; OpenBLAS had chosen \(was)"
    }
    return "riad asked for \(current) (OPENBLAS_CORETYPE) because OpenBLAS chose \(was) on this processor"
  }

  #if os(Linux)
  /// Starts riad again with a better OpenBLAS core when `relaunchCore` says
  /// so; returns only when it does not (or the relaunch fails).
  public static func relaunchIfWeaker(arguments: [String]) {
    let env = ProcessInfo.processInfo.environment
    let now = current
    guard let core = relaunchCore(current: now, processorLevel: processorLevel, environment: env) else { return }
    setenv("OPENBLAS_CORETYPE", core, 1)
    setenv("RIAD_BLAS_RELAUNCHED", now, 1)
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    execv("/proc/self/exe", &argv)
    // Only reached when exec failed: carry on with the core we have.
    unsetenv("RIAD_BLAS_RELAUNCHED")
    for p in argv { free(p) }
  }
  #else
  public static func relaunchIfWeaker(arguments: [String]) {}
  #endif
}
