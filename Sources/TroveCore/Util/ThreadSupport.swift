#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A pthread mutex with condition variables, heap-allocated so it never moves: plumbing for the
/// pipelines that hand work between plain threads (the ingest pipeline, a pull's chunk writer),
/// where a condition wait wakes faster than Dispatch.
public final class ConditionLock {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let conditions: UnsafeMutablePointer<pthread_cond_t>
    private let conditionCount: Int

    /// A lock with `count` condition variables, numbered from 0.
    public init(conditions count: Int) {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        conditions = .allocate(capacity: count)
        conditionCount = count
        for i in 0..<count { pthread_cond_init(conditions + i, nil) }
    }

    deinit {
        for i in 0..<conditionCount { pthread_cond_destroy(conditions + i) }
        pthread_mutex_destroy(mutex)
        conditions.deallocate()
        mutex.deallocate()
    }

    /// Takes the lock.
    @inline(__always) public func lock() { pthread_mutex_lock(mutex) }
    /// Releases the lock.
    @inline(__always) public func unlock() { pthread_mutex_unlock(mutex) }
    /// Waits on condition `i`; the caller holds the lock.
    @inline(__always) public func wait(_ i: Int) { pthread_cond_wait(conditions + i, mutex) }
    /// Wakes one waiter of condition `i`.
    @inline(__always) public func signal(_ i: Int) { pthread_cond_signal(conditions + i) }
    /// Wakes every waiter of condition `i`.
    @inline(__always) public func broadcast(_ i: Int) { pthread_cond_broadcast(conditions + i) }
}

/// A joinable pthread running a closure.
public final class JoinableThread {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    #if canImport(Glibc)
        private var thread = pthread_t()
    #else
        private var thread: pthread_t? = nil
    #endif
    private var started = false

    /// Starts `body` on a new thread. Fails (returns nil) only if the system refuses a thread.
    public init?(_ body: @escaping () -> Void) {
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                #if canImport(Glibc)
                    let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                #else
                    let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
                #endif
                box.body()
                return nil
            }, context)
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            return nil
        }
        started = true
    }

    /// Waits for the thread to finish.
    public func join() {
        guard started else { return }
        started = false
        #if canImport(Glibc)
            pthread_join(thread, nil)
        #else
            pthread_join(thread!, nil)
        #endif
    }
}
