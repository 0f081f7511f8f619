import Dispatch
import NIOCore
import Synchronization
import TroveCore

/// Reads and hashes a push's small files (`SmallFileIngester`) on a second thread, ahead of the
/// pushing thread, which takes the results in order (``take(_:)``) and does the rest — the stat
/// cache, the tree, `PushStream`'s batches and compression. A push of many small files was one
/// thread doing everything while the second core idled (or ran troved); the reading, hashing and
/// format detection are about half of that thread's work.
///
/// At most ``maxQueuedBytes`` of read files wait (one file more when a single one is larger).
/// ``stop()`` ends the thread early (a failed push) and must be called before the reader is
/// dropped; results are the same as `SmallFileIngester.ingest` on the pushing thread.
final class SmallFileReadAhead: Sendable {
    /// One file read: its index in the push's file list, the result of `ingest` (nil: it grew
    /// past the ingester's limit) and the bytes it hashed.
    struct Item: Sendable {
        var index: Int
        var result: Result<IngestResult?, IngestError>
        var bytes: [UInt8]
    }

    private struct State {
        var items = CircularBuffer<Item>()
        var queuedBytes = 0
        var readerWaits = false
        var stopped = false
    }

    static let maxQueuedBytes = 8 << 20
    private let state = Mutex(State())
    private let ready = DispatchSemaphore(value: 0)
    private let room = DispatchSemaphore(value: 0)
    private let done = DispatchGroup()

    /// Starts reading `files` (index in the push's list, path, size from the scan) in order.
    init(files: [(index: Int, path: String, size: Int)], parameters: ChunkerParameters, formats: FormatPolicy) {
        DispatchQueue.global().async(group: done) { [self] in read(files, parameters, formats) }
    }

    private func read(
        _ files: [(index: Int, path: String, size: Int)], _ parameters: ChunkerParameters, _ formats: FormatPolicy
    ) {
        let ingester: SmallFileIngester
        do { ingester = try SmallFileIngester(parameters: parameters) } catch {
            // The pushing thread validated the parameters: report it with the first file.
            if let f = files.first { deliver(Item(index: f.index, result: .failure(error), bytes: [])) }
            return
        }
        for f in files {
            guard waitForRoom(f.size) else { return }
            let item: Item
            do {
                let r = try ingester.ingest(path: f.path, formats: formats, expectedSize: f.size)
                item = Item(index: f.index, result: .success(r), bytes: r == nil ? [] : Array(ingester.content))
            } catch {
                item = Item(index: f.index, result: .failure(error), bytes: [])
            }
            deliver(item)
            if case .failure = item.result { return }
        }
    }

    /// Blocks the reader while the queue is full; false once stopped.
    private func waitForRoom(_ size: Int) -> Bool {
        while true {
            let wait: Bool? = state.withLock { s in
                if s.stopped { return nil }
                if s.items.isEmpty || s.queuedBytes + size <= Self.maxQueuedBytes { return false }
                s.readerWaits = true
                return true
            }
            guard let wait else { return false }
            if !wait { return true }
            room.wait()
        }
    }

    private func deliver(_ item: Item) {
        state.withLock { s in
            s.items.append(item)
            s.queuedBytes += item.bytes.count
        }
        ready.signal()
    }

    /// The next file read, which must be file `index` of the push's list (files are taken in the
    /// order they were given). Blocks until it is read.
    func take(_ index: Int) throws(IngestError) -> (result: IngestResult?, bytes: [UInt8]) {
        ready.wait()
        let (item, wake) = state.withLock { s in
            let item = s.items.removeFirst()
            s.queuedBytes -= item.bytes.count
            defer { s.readerWaits = false }
            return (item, s.readerWaits)
        }
        if wake { room.signal() }
        precondition(item.index == index, "read ahead file \(item.index), the push wanted \(index)")
        return (try item.result.get(), item.bytes)
    }

    /// Stops the reader and waits for its thread to end.
    func stop() {
        state.withLock { $0.stopped = true }
        room.signal()
        done.wait()
    }
}
