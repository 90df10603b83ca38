#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The stack programs run on.
///
/// The evaluator walks the tree recursively: every script call nests some
/// fifteen Swift frames, and every level of a nested expression a few more.
/// The main thread's stack is whatever the system gave it (8 MiB by default,
/// less under some shells, and sanitizers make frames several times larger),
/// so riad runs programs on a thread of its own whose stack is sized from the
/// language's limits: `Interpreter.maxCallDepth` nested calls, each with a
/// budget of `bytesPerCall` (which covers a call whose body nests expressions
/// to the parser's limit, measured in a debug build under AddressSanitizer
/// by `testDeepestProgramFitsTheStack`).
public enum EvaluatorStack {
  /// The stack one script call may use, nested expressions included: a
  /// call whose body nests lists to the parser's limit takes about 1 MiB in
  /// a debug build under AddressSanitizer, so this leaves room to spare.
  public static let bytesPerCall = 2 << 20
  /// The evaluator thread's stack: every allowed call, plus room for the
  /// builtins the innermost call runs. Only touched pages take memory.
  public static let size = (Interpreter.maxCallDepth + 56) * bytesPerCall

  /// Runs `body` on a thread with a stack of `size` bytes and waits for it;
  /// runs it directly when already on such a thread (a script that runs
  /// another one).
  public static func run<T>(_ body: () throws -> T) throws -> T {
    if pthread_getspecific(key) != nil { return try body() }
    var result: Result<T, Error>?
    try withoutActuallyEscaping(body) { body in
      let job = Job { result = Result { try body() } }
      var attributes = pthread_attr_t()
      pthread_attr_init(&attributes)
      defer { pthread_attr_destroy(&attributes) }
      pthread_attr_setstacksize(&attributes, size)
      let context = Unmanaged.passRetained(job).toOpaque()
      #if canImport(Glibc)
      var thread = pthread_t()
      #else
      var thread: pthread_t? = nil
      #endif
      let start: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { context in
        let job = Unmanaged<Job>.fromOpaque(context!).takeRetainedValue()
        pthread_setspecific(EvaluatorStack.key, context)
        job.body()
        return nil
      }
      var status = pthread_create(&thread, &attributes, start, context)
      if status != 0 {
        // No room for the full stack (a tight `ulimit -v`): a quarter of it
        // still beats the main thread's.
        pthread_attr_setstacksize(&attributes, size / 4)
        status = pthread_create(&thread, &attributes, start, context)
      }
      guard status == 0 else {
        Unmanaged<Job>.fromOpaque(context).release()
        throw ScriptError(.runtime, "cannot start the evaluator thread (pthread_create: \(status))", at: .none)
      }
      #if canImport(Glibc)
      pthread_join(thread, nil)
      #else
      pthread_join(thread!, nil)
      #endif
    }
    return try result!.get()
  }

  /// Marks the evaluator threads (any non-nil value).
  static let key: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
  }()

  /// The work handed to the thread. Its closure only lives while `run`
  /// waits for the thread, which is what makes the non-escaping body safe.
  final class Job {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
  }
}
