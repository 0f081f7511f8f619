import Dispatch
import Synchronization
import TroveCore

/// Reads the stored chunks of one blob-stream feed (``BlobStreams``, a `BLOB_CHUNKS` whose
/// references the server hashes into the blob digest) back from the packs ahead of the hashing,
/// on another thread, so that the disk and the SHA-256 work at the same time.
///
/// Chunks whose records lie back to back in one pack (a shifted v2 of a file shares long runs of
/// the v1's chunks, stored in order) are read with one direct read of up to ``maxRun`` bytes
/// into a pooled aligned buffer and hashed in place; each record's header is checked against the
/// index entry (a record that moved since it was located — a GC — is looked up again and read
/// alone). Anything else (compressed or encrypted records, a store without direct reads, a read
/// the file system refuses) is read chunk by chunk with ``Store/readBack(_:_:at:)``. At most
/// ``depth`` runs are read and not yet hashed at once (memory: `depth` × ``maxRun``).
///
/// One consumer (the append holding the stream's feeder claim) calls ``withNext(_:)`` for each
/// stored chunk in order, then ``finish()``.
final class StoredChunkReadAhead: @unchecked Sendable {
    // `@unchecked Sendable`: `chunks`, `runs` and `store` are immutable; the loaded runs and the
    // spare buffers live in the `state` Mutex; `current`, `runIndex` and `inRun` are touched only
    // by the one consumer thread.

    /// Most bytes per direct read, and per group of chunks read one by one.
    static let maxRun = 2 << 20
    /// Runs read ahead of the hashing.
    static let depth = 3
    /// Aligned buffers of `maxRun` plus two pages, shared by every read-ahead of the process.
    static let buffers = Pool<DirectReadBuffer>()
    static func makeBuffer() -> DirectReadBuffer { DirectReadBuffer(maxRun + 2 * PackFormat.alignment) }

    struct Run {
        /// Index range in `chunks`.
        var start: Int
        var end: Int
        /// For one direct read: the pack, its file name, and the byte range of the records.
        var pack: Int64
        var name: String?
        var offset: Int
        var length: Int
    }

    enum Loaded {
        /// The run's records, starting at `base` in the buffer.
        case span(DirectReadBuffer, base: Int)
        /// Each chunk's raw bytes.
        case arrays([[UInt8]])
        case failed(StoreError)
    }

    struct State: @unchecked Sendable {
        // `@unchecked Sendable`: reached only inside the `state` Mutex.
        var loaded: [Int: Loaded] = [:]
        var cancelled = false
    }

    private let store: Store
    private let chunks: [BlobStreams.Ready]
    private let runs: [Run]
    private let state = Mutex(State())
    /// Created at 0 and signalled `depth` times: libdispatch traps when a semaphore is freed below
    /// its initial value, which a reader stopped early leaves it at.
    private let slots = DispatchSemaphore(value: 0)
    private let ready = DispatchSemaphore(value: 0)
    private var runIndex = 0
    private var inRun = 0
    private var current: Loaded?

    /// Starts reading the stored chunks (those without bytes) of `all`, in order.
    init(store: Store, _ all: [BlobStreams.Ready]) {
        self.store = store
        chunks = all.filter { $0.raw == nil }
        runs = Self.plan(chunks, store: store)
        guard !chunks.isEmpty else { return }
        for _ in 0..<Self.depth { slots.signal() }
        DispatchQueue.global().async { [self] in produce() }
    }

    /// Groups the chunks into runs: records back to back in one pack (one direct read each), or
    /// chunks to read one by one.
    private static func plan(_ chunks: [BlobStreams.Ready], store: Store) -> [Run] {
        let h = PackFormat.recordHeaderSize
        var direct = false
        if store.cipher == nil, let local = store.packStorage as? LocalPackStorage { direct = local.directIO }
        var runs: [Run] = []
        var names: [Int64: String] = [:]
        for (i, c) in chunks.enumerated() {
            if direct, let place = c.location, place.entry.codec == .raw, place.entry.rawLength == c.length,
                h + place.entry.storedLength <= maxRun
            {
                let e = place.entry
                if var last = runs.last, last.name != nil, last.pack == place.pack, last.offset + last.length == e.offset,
                    last.length + h + e.storedLength <= maxRun
                {
                    last.end = i + 1
                    last.length += h + e.storedLength
                    runs[runs.count - 1] = last
                    continue
                }
                if let name = names[place.pack] ?? (try? store.packName(place.pack)) {
                    names[place.pack] = name
                    runs.append(Run(start: i, end: i + 1, pack: place.pack, name: name, offset: e.offset, length: h + e.storedLength))
                    continue
                }
            }
            if var last = runs.last, last.name == nil, last.length + c.length <= maxRun {
                last.end = i + 1
                last.length += c.length
                runs[runs.count - 1] = last
            } else {
                runs.append(Run(start: i, end: i + 1, pack: -1, name: nil, offset: 0, length: c.length))
            }
        }
        return runs
    }

    /// The reading thread: each run in order, at most `depth` ahead of the consumer.
    private func produce() {
        for i in runs.indices {
            slots.wait()
            if state.withLock({ $0.cancelled }) { return }
            let loaded = load(runs[i])
            state.withLock { $0.loaded[i] = loaded }
            ready.signal()
            if case .failed = loaded { return }
        }
    }

    private func load(_ run: Run) -> Loaded {
        if let name = run.name, let local = store.packStorage as? LocalPackStorage {
            let buffer = Self.buffers.take(Self.makeBuffer)
            if let base = try? local.readDirect(name: name, offset: run.offset, count: run.length, into: buffer) {
                return .span(buffer, base: base)
            }
            Self.buffers.put(buffer)
        }
        do throws(StoreError) {
            var out: [[UInt8]] = []
            out.reserveCapacity(run.end - run.start)
            for c in chunks[run.start..<run.end] { out.append(try store.readBack(c.digest, c.length, at: c.location)) }
            return .arrays(out)
        } catch {
            return .failed(error)
        }
    }

    /// Passes the next stored chunk's raw bytes to `body` (valid during the call).
    func withNext<R>(_ body: (UnsafeRawBufferPointer) -> R) throws(StoreError) -> R {
        guard runIndex < runs.count else {
            throw .invalidArgument("blob stream read-back: more stored chunks asked for than there are")
        }
        if current == nil {
            ready.wait()
            current = state.withLock { $0.loaded.removeValue(forKey: runIndex) }
            inRun = 0
        }
        let run = runs[runIndex]
        let c = chunks[run.start + inRun]
        let result: R
        switch current {
        case .failed(let e)?:
            throw e
        case .arrays(let all)?:
            result = all[inRun].withUnsafeBytes(body)
        case .span(let buffer, let base)?:
            let e = c.location!.entry
            let at = buffer.memory.base + base + (e.offset - run.offset)
            let h = PackFormat.recordHeaderSize
            let header = UnsafeRawBufferPointer(start: at, count: h)
            let stored = UnsafeRawBufferPointer(start: at + h, count: e.storedLength)
            if PackFormat.recordMatches(header: header, stored: stored, e, field: e.digest, checkCRC: false) {
                result = body(stored)
            } else {
                // Not what the index said when it was located (a GC moved it): ask again.
                result = try store.readBack(c.digest, c.length, at: nil).withUnsafeBytes(body)
            }
        case nil:
            throw .invalidArgument("blob stream read-back: run \(runIndex) was not read")
        }
        inRun += 1
        if run.start + inRun == run.end {
            if case .span(let buffer, _)? = current { Self.buffers.put(buffer) }
            current = nil
            runIndex += 1
            slots.signal()
        }
        return result
    }

    /// Stops reading ahead (the feed is over, or failed).
    func finish() {
        state.withLock { $0.cancelled = true }
        if case .span(let buffer, _)? = current { Self.buffers.put(buffer) }
        current = nil
        slots.signal()
    }
}
