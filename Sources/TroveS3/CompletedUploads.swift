import Synchronization

/// Multipart uploads completed lately (the newest ``capacity``), so that a repeated
/// CompleteMultipartUpload gets the same answer instead of `NoSuchUpload`: a client that timed
/// out waiting for the first (a large upload on a loaded server) retries it, and S3 answers a
/// retry of a completion that succeeded with success. Kept in memory only: after a restart a
/// retry gets `NoSuchUpload`, as it would once the entry is gone.
final class CompletedUploads: Sendable {
    struct Entry: Sendable {
        var bucket: String
        var key: String
        var etag: String
    }

    static let capacity = 1000

    private struct State {
        var entries: [String: Entry] = [:]
        var order: [String] = []
    }

    private let state = Mutex(State())

    /// Notes that upload `id` completed as `entry`.
    func add(_ id: String, _ entry: Entry) {
        state.withLock { s in
            if s.entries.updateValue(entry, forKey: id) == nil { s.order.append(id) }
            if s.order.count > Self.capacity { s.entries[s.order.removeFirst()] = nil }
        }
    }

    /// The completion of upload `id`, if it is remembered.
    func find(_ id: String) -> Entry? {
        state.withLock { $0.entries[id] }
    }
}
