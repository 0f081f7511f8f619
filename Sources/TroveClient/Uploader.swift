import Dispatch
import NIOCore
import Synchronization
import SystemPackage
import TroveCore
import TroveProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads chunks from the local files, compresses them and uploads them in batches.
final class Uploader {
    let connection: Connection
    let connections: [Connection]
    let lease: LeaseID
    let files: [LocalFile]
    let locations: [Digest: Pusher.ChunkLocation]
    let window: Int
    let progress: Progress?
    /// One encoder per thread that compresses: `encoders[0]` for this uploader's own thread,
    /// more when ``encodeThreads`` > 1.
    private(set) var encoders: [ChunkEncoder]
    /// zstd level for chunks. Each chunk is compressed on its own (16–256 KiB): at that size
    /// level 1 stores as little as level 3 on tabular text and logs (measured 2.94× vs 2.89× on
    /// the CSV corpus of scripts/bench-vs-peers, 64 KiB blocks) at about twice the speed.
    static let chunkLevel = 1
    var chunksSent = 0
    var rawBytesSent: UInt64 = 0
    var chunkBytesSent: UInt64 = 0
    var objectBytesSent: UInt64 = 0
    private var openFile: (index: Int, fd: Int32)?
    private let allocator = ByteBufferAllocator()

    init(
        connections: [Connection], lease: LeaseID, files: [LocalFile],
        locations: [Digest: Pusher.ChunkLocation],
        window: Int, progress: Progress?
    ) {
        self.connection = connections[0]
        self.connections = connections
        self.lease = lease
        self.files = files
        self.locations = locations
        self.window = window
        self.progress = progress
        let hello = connections[0].hello
        var codec = hello.preferredCodec
        if !hello.codecs.contains(codec) && codec != .raw { codec = .raw }
        encoders = [ChunkEncoder(codec: codec, level: Uploader.chunkLevel)]
    }

    /// Threads that compress the chunks `putChunks` reads (1: this uploader's thread alone).
    /// More pay when this uploader is the only one sending: a single new file's chunks all go out
    /// in order on one connection.
    var encodeThreads: Int {
        get { encoders.count }
        set {
            let codec = encoders[0].compressor.codec
            let n = max(1, newValue)
            while encoders.count < n { encoders.append(ChunkEncoder(codec: codec, level: Uploader.chunkLevel)) }
            if encoders.count > n { encoders.removeLast(encoders.count - n) }
        }
    }

    deinit { if let f = openFile { close(f.fd) } }

    /// Uploads `groups` (each a blob's new chunks, in order), each group whole on one
    /// connection so that its chunks arrive in order (the server hashes the blob as they do),
    /// the groups spread over the uploaders by bytes, each uploader on its own thread.
    static func putChunksInParallel(_ groups: [[Digest]], _ uploaders: [Uploader]) throws(ClientError) {
        if uploaders.count == 1 || groups.count < 2 {
            // One connection sends everything, in order: compress on both cores meanwhile.
            uploaders[0].encodeThreads = 2
            defer { uploaders[0].encodeThreads = 1 }
            try uploaders[0].putChunks(groups.flatMap { $0 })
            return
        }
        let n = uploaders.count
        var split = [[Digest]](repeating: [], count: n)
        var bytes = [Int](repeating: 0, count: n)
        for g in groups {
            let i = bytes.indices.min { bytes[$0] < bytes[$1] }!
            split[i] += g
            bytes[i] += g.reduce(0) { $0 + (uploaders[i].locations[$1]?.length ?? 0) }
        }
        let results = Mutex([Result<Void, ClientError>](repeating: .success(()), count: n))
        let parts = split
        // Iteration i uses only uploaders[i], and the array itself is not mutated.
        nonisolated(unsafe) let uploaders = uploaders
        DispatchQueue.concurrentPerform(iterations: n) { i in
            let r: Result<Void, ClientError>
            do throws(ClientError) {
                try uploaders[i].putChunks(parts[i])
                r = .success(())
            } catch {
                r = .failure(error)
            }
            results.withLock { $0[i] = r }
        }
        for r in results.withLock({ $0 }) { try r.get() }
    }

    /// Payload budget for one PUT_* frame.
    var budget: Int { max(64 << 10, min(connection.maxPayload, 8 << 20) - 4096) }

    func putChunks(_ digests: [Digest]) throws(ClientError) {
        if digests.isEmpty { return }
        var windows = connections.map { RequestWindow(connection: $0, limit: window) }
        var ahead = EncodeAhead(digests, encoders: encoders)
        try sendChunks(digests, windows: &windows) { d throws(ClientError) in
            try ahead.payload(for: d) { d throws(ClientError) in try read(d) }
        }
        for i in windows.indices { try windows[i].drain() }
    }

    /// The payloads of chunks sent in a known order. With several encoders, chunks are read
    /// ahead (up to ``sliceBytes``, in order, on the sending thread) and compressed together on
    /// all of them; they still go out in order. With one, each is compressed when asked for.
    struct EncodeAhead {
        /// Raw bytes read ahead and compressed together.
        static let sliceBytes = 8 << 20
        let digests: [Digest]
        let encoders: [ChunkEncoder]
        let sliceBytes: Int
        private var ready: [ChunkPayload] = []
        private var next = 0
        private var readAhead = 0

        init(_ digests: [Digest], encoders: [ChunkEncoder], sliceBytes: Int = EncodeAhead.sliceBytes) {
            self.digests = digests
            self.encoders = encoders
            self.sliceBytes = sliceBytes
        }

        /// The payload of `digest`, the next of ``digests``; `raw` gives a chunk's bytes.
        mutating func payload(for digest: Digest, raw: (Digest) throws(ClientError) -> ByteBuffer)
            throws(ClientError) -> ChunkPayload
        {
            guard encoders.count > 1 else { return encoders[0].encode(try raw(digest), digest: digest) }
            if next == ready.count {
                var slice: [(ByteBuffer, Digest)] = []
                var bytes = 0
                while readAhead < digests.count, slice.isEmpty || bytes < sliceBytes {
                    let d = digests[readAhead]
                    let data = try raw(d)
                    bytes += data.readableBytes
                    slice.append((data, d))
                    readAhead += 1
                }
                ready = ChunkEncoder.encode(slice, with: encoders)
                next = 0
            }
            defer { next += 1 }
            guard next < ready.count, ready[next].digest == digest else {
                throw .protocolViolation(detail: "chunk \(digest) was not read ahead in order")
            }
            return ready[next]
        }
    }

    /// Sends `digests` in PUT_CHUNKS requests (each up to the frame budget and the chunk cap),
    /// in order, round-robin over `windows`, with each chunk's payload from `payload`. Does not
    /// wait for the last answers: the caller drains the windows.
    func sendChunks(
        _ digests: [Digest], windows: inout [RequestWindow],
        payload: (Digest) throws(ClientError) -> ChunkPayload
    ) throws(ClientError) {
        let maxCount = max(1, min(Int(connection.limits.maxChunksPerPut), ProtocolLimits.maxChunksPerFrame))
        let budget = self.budget
        var nextWindow = 0
        var batch: [ChunkPayload] = []
        var batchBytes = 64
        var batchRaw: UInt64 = 0
        func flush() throws(ClientError) {
            guard !batch.isEmpty else { return }
            let count = batch.count
            let raw = batchRaw
            let wire = UInt64(batchBytes)
            let w = nextWindow
            nextWindow = (nextWindow + 1) % windows.count
            try windows[w].send(Message.PutChunks(lease: lease, chunks: batch)) {
                [self] _ throws(ClientError) in
                chunksSent += count
                rawBytesSent += raw
                chunkBytesSent += wire
                progress?.advance(by: raw)
            }
            batch = []
            batchBytes = 64
            batchRaw = 0
        }
        for d in digests {
            let p = try payload(d)
            let size = p.data.readableBytes + 48
            if !batch.isEmpty && (batch.count >= maxCount || batchBytes + size > budget) { try flush() }
            batch.append(p)
            batchBytes += size
            batchRaw += UInt64(p.rawLength)
        }
        try flush()
    }

    /// The raw bytes of chunk `digest`, read from its file.
    private func read(_ digest: Digest) throws(ClientError) -> ByteBuffer {
        guard let loc = locations[digest] else {
            throw .protocolViolation(detail: "no local copy of chunk \(digest)")
        }
        let file = files[loc.file]
        if openFile?.index != loc.file {
            if let f = openFile { close(f.fd) }
            openFile = nil
            let fd = open(file.diskPath, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw .io(path: file.diskPath, operation: "open", errno: errno) }
            openFile = (loc.file, fd)
        }
        let fd = openFile!.fd
        // Read straight into the buffer that goes on the wire: raw chunks are never copied again.
        var data = allocator.buffer(capacity: loc.length)
        var err: Int32 = 0
        data.writeWithUnsafeMutableBytes(minimumWritableBytes: loc.length) { buf in
            let target = UnsafeMutableRawBufferPointer(rebasing: buf[..<loc.length])
            do {
                let n = try FileDescriptor(rawValue: fd).readFully(
                    fromAbsoluteOffset: Int64(loc.offset), into: target)
                guard n == loc.length else {
                    err = -1
                    return 0
                }
                return n
            } catch {
                err = (error as? Errno)?.rawValue ?? EIO
                return 0
            }
        }
        if err == -1 {
            throw .ingest(detail: "\(file.diskPath) shrank while it was being pushed; push again")
        } else if err != 0 {
            throw .io(path: file.diskPath, operation: "read", errno: err)
        }
        return data
    }

    /// Uploads objects (recipes, trees), several per request, large ones in consecutive parts.
    func putObjects(_ objects: [(ContentKind, Digest, [UInt8])]) throws(ClientError) {
        if objects.isEmpty { return }
        var w = RequestWindow(connection: connection, limit: window)
        try sendObjects(objects, window: &w)
        try w.drain()
    }

    /// Sends `objects` in PUT_OBJECTS requests on `w` without waiting for the last answers;
    /// `sent` runs for each request sent, `acknowledged` as each is answered.
    func sendObjects(
        _ objects: [(ContentKind, Digest, [UInt8])], window w: inout RequestWindow, sent: () -> Void = {},
        acknowledged: @escaping () -> Void = {}
    ) throws(ClientError) {
        let budget = self.budget
        var parts: [ObjectPart] = []
        var used = 64
        func flush() throws(ClientError) {
            guard !parts.isEmpty else { return }
            let bytes = UInt64(used)
            sent()
            try w.send(Message.PutObjects(lease: lease, parts: parts)) {
                [self] _ throws(ClientError) in
                objectBytesSent += bytes
                acknowledged()
            }
            parts = []
            used = 64
        }
        for (kind, digest, bytes) in objects {
            var offset = 0
            repeat {
                let room = budget - used - 64
                if room < 4096 || parts.count >= 65_536 {
                    try flush()
                    continue
                }
                let n = min(room, bytes.count - offset)
                var b = allocator.buffer(capacity: n)
                b.writeBytes(bytes[offset..<offset + n])
                parts.append(
                    ObjectPart(
                        kind: kind, digest: digest, totalLength: UInt64(bytes.count), offset: UInt64(offset),
                        data: b))
                used += n + 64
                offset += n
            } while offset < bytes.count
        }
        try flush()
    }
}
