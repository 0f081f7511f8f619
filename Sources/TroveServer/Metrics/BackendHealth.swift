import Foundation
import Synchronization
import TroveStore

/// Whether the catalog and the pack and object storage answer, for `/readyz` (docs/SCALING.md,
/// "Load balancing"). A check runs on a thread of its own at most once per `interval` and its
/// answer is cached, so a storm of probes costs one catalog read and one object-store request per
/// interval; a check still running after `timeout` counts as a failure (a hung object store must
/// not hang the probe). Never blocks its caller. The bookkeeping lives in the `state` Mutex.
public final class BackendHealth: Sendable {
    struct State {
        /// The last finished check: nil when it passed, else why not.
        var result: String?
        /// When the last check finished (seconds of uptime); nil before the first.
        var checkedAt: Double?
        /// When the running check started; nil when none runs.
        var startedAt: Double?
    }

    public let interval: Double
    public let timeout: Double
    private let check: @Sendable () -> String?
    private let state = Mutex(State())

    /// `check` returns nil when the backends answer, else why not.
    public init(interval: Double = 2, timeout: Double = 3, check: @escaping @Sendable () -> String?) {
        self.interval = interval
        self.timeout = timeout
        self.check = check
    }

    /// Checks `store`'s catalog and storages (`Store.probeBackends`).
    public convenience init(store: Store, interval: Double = 2, timeout: Double = 3) {
        self.init(interval: interval, timeout: timeout) {
            do {
                try store.probeBackends()
                return nil
            } catch {
                return "\(error)"
            }
        }
    }

    /// Nil when the last check passed, else why not. Starts a check when the last one is older
    /// than `interval` and none runs.
    public func reason() -> String? {
        let now = ProcessInfo.processInfo.systemUptime
        var start = false
        let answer = state.withLock { s -> String? in
            if let started = s.startedAt {
                if now - started > timeout {
                    return "the catalog or the object store did not answer within \(Int(timeout)) s"
                }
            } else if s.checkedAt.map({ now - $0 >= interval }) ?? true {
                s.startedAt = now
                start = true
            }
            guard s.checkedAt != nil else { return "the first check of the catalog and the object store is running" }
            return s.result
        }
        if start { startCheck() }
        return answer
    }

    /// Starts a check now unless one runs (troved calls it at start so the first probe has an answer).
    public func refresh() {
        let start = state.withLock { s -> Bool in
            guard s.startedAt == nil else { return false }
            s.startedAt = ProcessInfo.processInfo.systemUptime
            return true
        }
        if start { startCheck() }
    }

    private func startCheck() {
        Thread.detachNewThread { [self] in
            let result = check().map { "backend check failed: \($0)" }
            state.withLock {
                $0.result = result
                $0.checkedAt = ProcessInfo.processInfo.systemUptime
                $0.startedAt = nil
            }
        }
    }
}
