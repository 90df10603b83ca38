import Foundation
import XCTest

/// The base of riad's test cases: it arranges the leak check below.
open class RiadTestCase: XCTestCase {
  override open class func setUp() {
    super.setUp()
    LeakCheck.install()
  }
}

/// Under AddressSanitizer, runs LeakSanitizer's check when the last test
/// has finished, while XCTest still holds its suites and test case objects.
/// Left to the end of the process, the check would report all of XCTest's
/// bookkeeping (which it never frees) as leaked; this way only memory that
/// nothing reaches is reported. Does nothing in builds without LeakSanitizer.
public enum LeakCheck {
  nonisolated(unsafe) private static var installed = false

  public static func install() {
    guard !installed else { return }
    installed = true
    XCTestObservationCenter.shared.addTestObserver(Observer())
  }

  final class Observer: NSObject, XCTestObservation {
    func testBundleDidFinish(_ testBundle: Bundle) {
      // RTLD_DEFAULT is the null handle on glibc; the symbol exists only
      // when the sanitizer runtime is linked in.
      guard let check = dlsym(nil, "__lsan_do_leak_check") else { return }
      typealias Check = @convention(c) () -> Void
      unsafeBitCast(check, to: Check.self)()
    }
  }
}
