import Synchronization

/// A value shared between threads (and escaping closures) behind a `Mutex`.
final class Locked<T: Sendable>: Sendable {
    private let value: Mutex<T>
    init(_ value: T) { self.value = Mutex(value) }
    func withValue<R: Sendable>(_ body: (inout T) -> R) -> R {
        value.withLock { body(&$0) }
    }
}
