import RiadTensor
import RiadTestSupport
import XCTest

/// When riad replaces OpenBLAS's core, and with which.
final class BLASCoreTests: RiadTestCase {
  func testAWeakerCoreIsReplacedByTheBestForTheProcessor() {
    XCTAssertEqual(BLASCore.relaunchCore(current: "Prescott", processorLevel: 3, environment: [:]), "SkylakeX")
    XCTAssertEqual(BLASCore.relaunchCore(current: "Prescott", processorLevel: 2, environment: [:]), "Haswell")
    XCTAssertEqual(BLASCore.relaunchCore(current: "Nehalem", processorLevel: 1, environment: [:]), "Sandybridge")
    XCTAssertEqual(BLASCore.relaunchCore(current: "Haswell", processorLevel: 3, environment: [:]), "SkylakeX")
    XCTAssertNil(BLASCore.relaunchCore(current: "Cooperlake", processorLevel: 3, environment: [:]), "already AVX-512")
    XCTAssertNil(BLASCore.relaunchCore(current: "Zen", processorLevel: 2, environment: [:]), "already AVX2")
    XCTAssertNil(BLASCore.relaunchCore(current: "Prescott", processorLevel: 0, environment: [:]), "nothing better")
    XCTAssertNil(BLASCore.relaunchCore(current: "NEOVERSEN1", processorLevel: 0, environment: [:]), "an arm64 core is left alone")
    XCTAssertNil(BLASCore.relaunchCore(current: "SomeFutureCore", processorLevel: 3, environment: [:]), "unknown names are left alone")
  }

  func testTheEnvironmentDecides() {
    XCTAssertNil(BLASCore.relaunchCore(current: "Prescott", processorLevel: 3, environment: ["OPENBLAS_CORETYPE": "Prescott"]),
                 "the user's own OPENBLAS_CORETYPE stands")
    XCTAssertEqual(BLASCore.relaunchCore(current: "Prescott", processorLevel: 3,
                                         environment: ["OPENBLAS_CORETYPE": "Prescott", "RIAD_BLAS_CORE": "auto"]), "SkylakeX")
    XCTAssertNil(BLASCore.relaunchCore(current: "Prescott", processorLevel: 3, environment: ["RIAD_BLAS_CORE": "keep"]))
    XCTAssertEqual(BLASCore.relaunchCore(current: "SkylakeX", processorLevel: 3, environment: ["RIAD_BLAS_CORE": "Haswell"]), "Haswell")
    XCTAssertNil(BLASCore.relaunchCore(current: "Haswell", processorLevel: 3, environment: ["RIAD_BLAS_CORE": "haswell"]), "already that core")
    XCTAssertNil(BLASCore.relaunchCore(current: "Prescott", processorLevel: 3, environment: ["RIAD_BLAS_RELAUNCHED": "Prescott"]),
                 "never twice")
  }

  func testLevelsOfKnownCores() {
    XCTAssertEqual(["SkylakeX", "Haswell", "Sandybridge", "Prescott"].map { BLASCore.level($0) }, [3, 2, 1, 0])
    XCTAssertGreaterThanOrEqual(BLASCore.processorLevel, 0)
    XCTAssertLessThanOrEqual(BLASCore.processorLevel, 3)
  }
}
