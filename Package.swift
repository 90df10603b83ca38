// swift-tools-version:6.0
//
// riad: a terminal lab for inpainting-based visual anomaly detection.
//
// Modules depend one way, from the C edge up to the thin executable
// (docs/architecture.md draws the map):
//
//   C edge      CBLAS CPNG CSixel CEditLine (system libraries), CShims, CPUFeatures (C)
//   numerics    RiadKernels (AVX-512 / NEON), RiadKernelsAVX2 -> RiadTensor -> RiadNN -> RiadMethod
//   pictures    RiadImage (PNG, colour maps, drawing, terminal display)
//   data        RiadData (MVTec folders, synthetic textures)
//   language    RiadLang (lexer, parser, evaluator, builtin registry)
//   bindings    RiadBuiltins (every builtin, declared once)
//   front ends  RiadREPL (libedit), RiadNotebook (cells, reports), RiadCLI (command line, docs, bench)
//   executable  riad
import PackageDescription

let fast: [SwiftSetting] = [
  .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]

// One kernel source, compiled per instruction set: RiadKernels for AVX-512 on
// x86-64 (for NEON on arm64), RiadKernelsAVX2 (its files are links to
// RiadKernels') for AVX2 + FMA. riad calls a variant only when the processor
// runs it (CPUFeatures checks at run time); elsewhere it uses its portable
// im2col + OpenBLAS convolution.
#if arch(x86_64)
let kernels: [SwiftSetting] = fast + [
  .unsafeFlags(["-target-cpu", "skylake-avx512"]),
  .define("RIAD_AVX512"),
]
let kernelsAVX2: [SwiftSetting] = fast + [
  .unsafeFlags(["-target-cpu", "haswell"]),
  .define("RIAD_AVX2"),
]
#else
let kernels: [SwiftSetting] = fast
let kernelsAVX2: [SwiftSetting] = fast + [.define("RIAD_AVX2")]  // built, never available
#endif

let package = Package(
  name: "riad",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "riad", targets: ["riad"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
  ],
  targets: [
    // MARK: C edge
    .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                   providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                   providers: [.apt(["libpng-dev"])]),
    .systemLibrary(name: "CSixel", pkgConfig: "libsixel",
                   providers: [.apt(["libsixel-dev"])]),
    .systemLibrary(name: "CEditLine", pkgConfig: "libedit",
                   providers: [.apt(["libedit-dev"])]),
    .target(name: "CShims", dependencies: ["CEditLine", "CPNG"]),
    .target(name: "CPUFeatures"),

    // MARK: numerics
    .target(name: "RiadKernels", dependencies: ["CPUFeatures"], swiftSettings: kernels),
    .target(name: "RiadKernelsAVX2", dependencies: ["CPUFeatures"], swiftSettings: kernelsAVX2),
    .target(name: "RiadTensor", dependencies: ["CBLAS", "CPUFeatures", "RiadKernels", "RiadKernelsAVX2"], swiftSettings: fast),
    .target(name: "RiadNN", dependencies: ["RiadTensor"], swiftSettings: fast),
    .target(name: "RiadMethod", dependencies: ["RiadNN"], swiftSettings: fast),

    // MARK: pictures and data
    .target(name: "RiadImage", dependencies: ["RiadTensor", "CPNG", "CSixel", "CShims"],
            swiftSettings: fast),
    .target(name: "RiadData", dependencies: ["RiadImage"], swiftSettings: fast),

    // MARK: language and front ends
    .target(name: "RiadLang", dependencies: ["RiadTensor"]),
    .target(name: "RiadBuiltins",
            dependencies: ["RiadLang", "RiadMethod", "RiadImage", "RiadData"]),
    .target(name: "RiadREPL", dependencies: ["RiadBuiltins", "CShims"]),
    .target(name: "RiadNotebook", dependencies: ["RiadBuiltins"]),
    .target(name: "RiadCLI", dependencies: [
      "RiadREPL", "RiadNotebook", "RiadBuiltins",
      .product(name: "ArgumentParser", package: "swift-argument-parser"),
    ]),
    .executableTarget(name: "riad", dependencies: ["RiadCLI"]),

    // MARK: tests (one target per module; RiadTestSupport holds the golden
    // loader, the finite-difference check and the plain-loop reference)
    .target(name: "RiadTestSupport", dependencies: ["RiadTensor"], path: "Tests/RiadTestSupport"),
    .testTarget(name: "RiadKernelsTests", dependencies: ["RiadKernels", "RiadTensor", "RiadTestSupport"]),
    .testTarget(name: "RiadTensorTests", dependencies: ["RiadTensor", "RiadTestSupport"]),
    .testTarget(name: "RiadNNTests", dependencies: ["RiadNN", "RiadMethod", "RiadTestSupport"]),
    .testTarget(name: "RiadMethodTests", dependencies: ["RiadMethod", "RiadTestSupport"]),
    .testTarget(name: "RiadImageTests", dependencies: ["RiadImage", "RiadTestSupport", "CSixel"]),
    .testTarget(name: "RiadDataTests", dependencies: ["RiadData", "RiadImage", "RiadTestSupport"]),
    .testTarget(name: "RiadLangTests", dependencies: ["RiadLang", "RiadTensor", "RiadTestSupport"]),
    .testTarget(name: "RiadBuiltinsTests", dependencies: ["RiadBuiltins", "RiadLang", "RiadTensor", "RiadTestSupport"]),
    .testTarget(name: "RiadNotebookTests", dependencies: ["RiadNotebook", "RiadBuiltins", "RiadImage", "RiadTestSupport"]),
    .testTarget(name: "RiadREPLTests", dependencies: ["RiadREPL", "RiadBuiltins", "RiadLang", "RiadTestSupport"]),
    .testTarget(name: "RiadCLITests", dependencies: ["RiadTestSupport", "RiadTensor", "CShims"], exclude: ["Scripts"]),
  ],
  swiftLanguageModes: [.v5]
)
