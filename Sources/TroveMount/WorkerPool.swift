#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A few plain threads running submitted jobs in order of submission (used for read-ahead, so a
/// sequential reader's next chunks are fetched and verified while it consumes the current ones).
/// The threads are started on the first submission and live as long as the process.
final class WorkerPool: @unchecked Sendable {
    private let monitor = Monitor()
    private var jobs: [() -> Void] = []
    private var head = 0
    private var started = false
    private let threads: Int

    init(threads: Int) { self.threads = max(1, threads) }

    /// Queues `job` to run on one of the pool's threads.
    func submit(_ job: @escaping () -> Void) {
        let start: Bool = monitor.withLock {
            jobs.append(job)
            monitor.broadcast()
            if started { return false }
            started = true
            return true
        }
        if start {
            for _ in 0..<threads { spawn() }
        }
    }

    private func spawn() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { arg in
                let pool = Unmanaged<WorkerPool>.fromOpaque(arg!).takeRetainedValue()
                pool.run()
                return nil
            }, box)
        if rc == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<WorkerPool>.fromOpaque(box).release()
        }
    }

    private func run() {
        while true {
            let job: () -> Void = monitor.withLock {
                while head >= jobs.count { monitor.wait() }
                let j = jobs[head]
                head += 1
                if head > 256 && head * 2 > jobs.count {
                    jobs.removeFirst(head)
                    head = 0
                }
                return j
            }
            job()
        }
    }
}
