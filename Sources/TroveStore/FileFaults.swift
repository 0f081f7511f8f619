import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// I/O fault injection for tests: makes the store's file layer (`FileIO`) fail a chosen call of a
/// kind — the Nth write, fsync, rename or read of a file under a store root — with a chosen errno,
/// as a full or failing disk would. Compiled into every build but inert until a test (or a debug
/// build of troved, from `TROVE_FAULTS`) arms it; unarmed, each file call pays one atomic load.
/// Plans are keyed by store root, so tests running in parallel on other stores are unaffected.
/// SQLite's own file I/O is not covered.
public enum FileFaults {
    /// The kinds of file call a plan can fail.
    public enum Operation: String, Sendable, CaseIterable {
        case write, fsync, rename, read
    }

    /// One armed fault: calls of `operation` on paths under `root` are counted; the `nth` (1-based)
    /// and, if `sticky`, every later one fail with `errno`.
    public struct Plan: Sendable, Equatable, CustomStringConvertible {
        public var operation: Operation
        public var nth: Int
        public var errno: Int32
        public var sticky: Bool

        public init(_ operation: Operation, nth: Int, errno: Int32, sticky: Bool = false) {
            self.operation = operation
            self.nth = nth
            self.errno = errno
            self.sticky = sticky
        }

        public var description: String {
            "\(operation.rawValue):\(nth):\(FileFaults.errnoName(errno))\(sticky ? ":sticky" : "")"
        }

        /// Parses `OP:N:ERRNO[:sticky]`, e.g. `write:3:ENOSPC` or `fsync:1:EIO:sticky`.
        public static func parse(_ text: String) -> Plan? {
            let parts = text.split(separator: ":").map(String.init)
            guard parts.count == 3 || (parts.count == 4 && parts[3] == "sticky"),
                let op = Operation(rawValue: parts[0]), let n = Int(parts[1]), n >= 1,
                let e = errnoNames.first(where: { $0.value == parts[2] })?.key
            else { return nil }
            return Plan(op, nth: n, errno: e, sticky: parts.count == 4)
        }
    }

    private struct Armed {
        var plan: Plan
        var calls = 0
        var fired = 0
    }

    /// How many roots have a plan (the unarmed fast path reads only this).
    private static let armedCount = Atomic<Int>(0)
    /// Plans by store root.
    private static let plans = Mutex<[String: Armed]>([:])

    /// Arms `plan` for files under `root` (replacing any plan for that root).
    public static func arm(_ plan: Plan, root: String) {
        plans.withLock { p in
            p[root] = Armed(plan: plan)
            armedCount.store(p.count, ordering: .sequentiallyConsistent)
        }
    }

    /// Disarms the plan for `root`; returns how many calls it failed.
    @discardableResult
    public static func disarm(root: String) -> Int {
        plans.withLock { p in
            let fired = p.removeValue(forKey: root)?.fired ?? 0
            armedCount.store(p.count, ordering: .sequentiallyConsistent)
            return fired
        }
    }

    /// How many calls the plan for `root` has failed so far.
    public static func fired(root: String) -> Int {
        plans.withLock { $0[root]?.fired ?? 0 }
    }

    /// The errno to fail this call of `op` on `path` with, or nil to let it run.
    static func check(_ op: Operation, _ path: String) -> Int32? {
        guard armedCount.load(ordering: .relaxed) > 0 else { return nil }
        return plans.withLock { p -> Int32? in
            for (root, var a) in p where a.plan.operation == op && path.hasPrefix(root) {
                a.calls += 1
                let hit = a.calls == a.plan.nth || (a.plan.sticky && a.calls > a.plan.nth)
                if hit { a.fired += 1 }
                p[root] = a
                return hit ? a.plan.errno : nil
            }
            return nil
        }
    }

    static let errnoNames: [Int32: String] = [EIO: "EIO", ENOSPC: "ENOSPC", EDQUOT: "EDQUOT"]

    static func errnoName(_ e: Int32) -> String { errnoNames[e] ?? "errno\(e)" }
}
