#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Frees the scopes, closures, lists and records that only reference
/// cycles keep alive.
///
/// Values are reference counted. A cycle among them, such as a list of
/// functions kept in the very scope the functions close over
/// (`fn make() { fs = [fn() { big }]; … }`), would otherwise live, with
/// every tensor it reaches, until the process ends. The most common cycle,
/// a function stored in its own scope, never forms (see `Environment`);
/// the collector finds the rest, the way CPython's does:
///
/// 1. read the strong reference count of every tracked object, through a
///    raw pointer, so that reading takes no reference of its own;
/// 2. subtract the references tracked objects hold to each other;
/// 3. what still has references left is held from outside (a variable of a
///    running call, a value the evaluator is working with, a host object):
///    it and everything it reaches is alive;
/// 4. the rest can be reached by nothing: each drops what it holds, which
///    breaks the cycles, and reference counting frees them.
///
/// Every reference the Swift code holds counts as outside, so a collection
/// is safe at any point of the evaluation; it runs before a statement and
/// when a script function returns, once enough objects were made since the
/// last one. Only the evaluator thread touches values, so the bookkeeping
/// needs no lock.
public enum CycleCollector {
  /// The objects that can take part in a cycle, by address.
  nonisolated(unsafe) private static var live = Set<UnsafeMutableRawPointer>()
  nonisolated(unsafe) private static var madeSinceCollection = 0
  /// Collect after this many new objects: at least `minimumThreshold`, and
  /// at least as many as survived the last collection (so the work stays
  /// linear).
  nonisolated(unsafe) private static var threshold = minimumThreshold
  /// 256; `RIAD_COLLECT_EVERY=N` sets it (tests use 1: a collection before
  /// every statement and at every return, which must change no result).
  nonisolated(unsafe) public static var minimumThreshold: Int = {
    if let v = getenv("RIAD_COLLECT_EVERY"), let n = Int(String(cString: v)), n >= 1 { return n }
    return 256
  }()
  /// How many objects the collections so far have freed (for tests).
  nonisolated(unsafe) public private(set) static var freed = 0

  static func track(_ object: AnyObject) {
    live.insert(Unmanaged.passUnretained(object).toOpaque())
    madeSinceCollection += 1
  }

  static func untrack(_ object: AnyObject) {
    live.remove(Unmanaged.passUnretained(object).toOpaque())
  }

  static func collectIfDue() {
    if madeSinceCollection >= threshold { collect() }
  }

  /// Frees every tracked object that only cycles keep alive, now; returns
  /// how many.
  @discardableResult
  public static func collect() -> Int {
    madeSinceCollection = 0
    let objects = Array(live)
    // 1. Reference counts, read before this function holds any reference.
    var outside = [UnsafeMutableRawPointer: Int](minimumCapacity: objects.count)
    for p in objects { outside[p] = swiftRetainCount(p) }
    // 2. Minus the references tracked objects hold.
    for p in objects {
      collectable(p).forEachReference { child in
        let c = Unmanaged.passUnretained(child).toOpaque()
        if let n = outside[c] { outside[c] = n - 1 }
      }
    }
    // 3. Alive: what something outside holds, and everything it reaches.
    var alive = Set<UnsafeMutableRawPointer>(minimumCapacity: objects.count)
    var stack = objects.filter { outside[$0]! > 0 }
    while let p = stack.popLast() {
      guard alive.insert(p).inserted else { continue }
      collectable(p).forEachReference { child in
        let c = Unmanaged.passUnretained(child).toOpaque()
        if outside[c] != nil && !alive.contains(c) { stack.append(c) }
      }
    }
    // 4. The rest: hold them all while each drops its references.
    let garbage = objects.filter { !alive.contains($0) }.map(collectable)
    for g in garbage { g.dropReferences() }
    freed += garbage.count
    threshold = Swift.max(minimumThreshold, live.count - garbage.count)
    return garbage.count
  }

  private static func collectable(_ p: UnsafeMutableRawPointer) -> Collectable {
    Unmanaged<AnyObject>.fromOpaque(p).takeUnretainedValue() as! Collectable
  }
}

/// An object the cycle collector tracks.
protocol Collectable: AnyObject {
  /// Calls `body` with every tracked object this one holds strongly.
  func forEachReference(_ body: (AnyObject) -> Void)
  /// Lets go of everything it holds (it is garbage).
  func dropReferences()
}

/// The Swift runtime's strong reference count of an object (the function
/// behind the standard library's `_getRetainCount`), called with a raw
/// pointer so that asking does not itself retain the object.
@_silgen_name("swift_retainCount")
private func swiftRetainCount(_ object: UnsafeMutableRawPointer) -> Int
