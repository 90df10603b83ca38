import Foundation
import Synchronization

/// The number of worker threads riad's own loops use (`--threads`; one per
/// core by default). Read by the pool's workers while the evaluator may set
/// it, so it lives in an atomic.
public var workerThreads: Int {
  get { WorkerCount.value.load(ordering: .relaxed) }
  set { WorkerCount.value.store(max(1, newValue), ordering: .relaxed) }
}

private enum WorkerCount {
  static let value = Atomic<Int>(max(1, ProcessInfoCores.active))
}

enum ProcessInfoCores {
  /// Online processors, read once (glibc reads it from /sys).
  static let active: Int = {
    #if canImport(Glibc)
    return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    #else
    return 1
    #endif
  }()
}
#if canImport(Glibc)
import Glibc
#endif

/// Runs `body(i)` for `i` in `0..<count`, spread over the worker threads
/// when the work is large enough to pay for it (`cost` is a rough count of
/// scalar operations per item). Cheap items go in about four chunks per
/// thread; items of a million operations or more are claimed one by one,
/// so that no thread waits at the end for more than one item of another's
/// (with 36 Winograd products on two threads in chunks of four or five, it
/// waited for up to five).
@inline(__always)
public func parallelFor(_ count: Int, cost: Int = 1 << 16, _ body: (Int) -> Void) {
  parallelFor(count, cost: cost, workers: workerThreads) { i, _ in body(i) }
}

/// `parallelFor` that also tells `body` which thread runs it: a number
/// below `workers` (and below `workerThreads`), the same for every item one
/// thread runs and never shared by two threads at once, so that each can
/// own a buffer (`workers` buffers, made before the loop).
@inline(__always)
func parallelFor(_ count: Int, cost: Int, workers: Int, _ body: (_ item: Int, _ worker: Int) -> Void) {
  let threads = min(workers, workerThreads)
  if threads <= 1 || count <= 1 || count * cost < 1 << 15 {
    for i in 0..<count { body(i, 0) }
    return
  }
  let chunks = cost >= 1 << 20 ? count : min(count, threads * 4)
  let ran = WorkerPool.shared.run(chunks, threads: threads) { c, worker in
    let lo = count * c / chunks, hi = count * (c + 1) / chunks
    for i in lo..<hi { body(i, worker) }
  }
  if !ran { for i in 0..<count { body(i, 0) } }
}


/// riad's own worker threads. A parallel loop hands out numbered chunks; the
/// calling thread and `workerThreads − 1` workers claim them one by one.
/// Between loops a worker checks for the next one 200 000 times before it
/// sleeps: the next loop usually comes sooner than that (a U-Net pass runs
/// some 300 of them, with serial work between them: autograd, small
/// element-wise ops), and waking a sleeping thread costs 10–20 µs each time,
/// which is what `DispatchQueue.concurrentPerform` paid. 200 000 checks
/// take about 100 µs here (95–200 µs measured alone; a sanitizer's atomics
/// stretch them). With 20 000 checks (10 µs, less than a wake-up) a
/// 64/16/8 bench (`perf stat`) switched contexts 8 300–9 100 times, with
/// 200 000 1 100–2 100 times. A limit of 100 µs by the clock instead of by
/// count measured no better (forward + backward at 64/16/8, best of 40,
/// seven alternating rounds: medians 67.4 against 62.8 ms).
final class WorkerPool: @unchecked Sendable {
  static let shared = WorkerPool()

  /// The job's generation (high 32 bits) and its next unclaimed chunk (low
  /// 32 bits), in one word so that a claim can never land in the wrong job.
  private let state = Atomic<Int>(0)
  /// The chunk index of a closed generation: beyond any job's count.
  private let closedChunk = 0x7FFF_FFFF
  private let finished = Atomic<Int>(0)
  private let busy = Atomic<Bool>(false)
  private let sleepers = Atomic<Int>(0)
  private let chunks = Atomic<Int>(0)
  /// Threads that claim chunks of the current job: the caller (thread 0)
  /// and workers 1 ..< claimers.
  private let claimers = Atomic<Int>(0)
  private var job: ((Int, Int) -> Void)? = nil
  // Heap cells: pthread objects must not move, which Swift promises only
  // for memory it does not manage.
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  private var started = 0

  private init() {
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(wake, nil)
  }

  /// Runs `body(c, thread)` for every c in 0..<count across `threads`
  /// threads (numbered from 0, the caller); false (without running
  /// anything) when a loop is already in progress, so that a nested loop
  /// can run serially instead.
  func run(_ count: Int, threads: Int, _ body: (Int, Int) -> Void) -> Bool {
    guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
    defer { busy.store(false, ordering: .releasing) }
    startWorkers(threads - 1)
    withoutActuallyEscaping(body) { body in
      job = body
      chunks.store(count, ordering: .relaxed)
      claimers.store(threads, ordering: .relaxed)
      finished.store(0, ordering: .relaxed)
      let generation = (state.load(ordering: .relaxed) >> 32) + 1
      state.store(generation << 32, ordering: .sequentiallyConsistent)
      if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
      }
      claimChunks(generation, thread: 0)
      while finished.load(ordering: .acquiring) < count {}
      // Close the generation before the next job's count is stored: a
      // worker that read this job's last state and then the next job's
      // (larger) count would otherwise win a claim on this generation,
      // run a chunk of the next job twice and count it finished early.
      state.store(generation << 32 | closedChunk, ordering: .sequentiallyConsistent)
      job = nil
    }
    return true
  }

  /// Runs chunk `c` of the current job. Not inlined, so that the reference
  /// to the job it loads is released before the chunk counts as finished:
  /// `run` leaves its `withoutActuallyEscaping` block as soon as the count
  /// is complete, and that block traps if any reference to the closure is
  /// still held (a worker that had not yet released its copy crashed riad,
  /// rarely, with "closure argument was escaped").
  @inline(never)
  private func runChunk(_ c: Int, thread: Int) {
    guard let job else { return }
    job(c, thread)
  }

  /// Claims and runs chunks of job `generation` on thread number `thread`
  /// until none is left.
  private func claimChunks(_ generation: Int, thread: Int) {
    var s = state.load(ordering: .acquiring)
    while s >> 32 == generation, s & 0xFFFF_FFFF < chunks.load(ordering: .relaxed) {
      let (exchanged, current) = state.compareExchange(expected: s, desired: s + 1, ordering: .acquiringAndReleasing)
      if exchanged {
        runChunk(s & 0xFFFF_FFFF, thread: thread)
        finished.add(1, ordering: .releasing)
        s = state.load(ordering: .acquiring)
      } else {
        s = current
      }
    }
  }

  private func startWorkers(_ wanted: Int) {
    while started < wanted {
      let index = started
      let thread = Thread { [unowned self] in self.work(index) }
      thread.stackSize = 1 << 20
      thread.start()
      started += 1
    }
  }

  /// A worker: waits for a new generation (spinning, then asleep), helps
  /// with it (as thread index + 1) if it is among the claimers, and waits
  /// again.
  private func work(_ index: Int) {
    var seen = state.load(ordering: .acquiring) >> 32
    while true {
      // More threads than cores: spinning would take a core from a thread
      // with work, so sleep at once.
      let spinLimit = workerThreads <= ProcessInfoCores.active ? 200_000 : 0
      var spins = 0
      while state.load(ordering: .acquiring) >> 32 == seen {
        spins += 1
        if spins < spinLimit { continue }
        pthread_mutex_lock(mutex)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while state.load(ordering: .sequentiallyConsistent) >> 32 == seen { pthread_cond_wait(wake, mutex) }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
      }
      seen = state.load(ordering: .acquiring) >> 32
      // The job's claimers were stored before its generation.
      if index + 1 < claimers.load(ordering: .relaxed) { claimChunks(seen, thread: index + 1) }
    }
  }
}
