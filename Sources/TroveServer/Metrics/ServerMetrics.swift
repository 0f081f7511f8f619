import CoreMetrics
import Foundation
import NIOCore
import TroveProtocol
import TroveStore

#if canImport(Glibc)
    import Glibc
#endif

/// troved's metrics, recorded through swift-metrics: troved bootstraps the Prometheus backend
/// (only executables configure global systems); without one every call is a no-op. The names
/// and what they mean: docs/OPERATIONS.md#metrics.
enum ServerMetrics {
    static let bytesReceived = Counter(label: "trove_bytes_received_total")
    static let bytesSent = Counter(label: "trove_bytes_sent_total")
    static let connections = Meter(label: "trove_connections")
    static let inFlight = Meter(label: "trove_requests_in_flight")
    static let chunksNew = Counter(label: "trove_chunks_total", dimensions: [("result", "new")])
    static let chunksDeduplicated = Counter(label: "trove_chunks_total", dimensions: [("result", "deduplicated")])
    static let chunkBytesStored = Counter(label: "trove_chunk_bytes_stored_total")

    /// One request of `type` that ended with `result` (`ok` or the error code's name) after
    /// `nanoseconds` of execution.
    static func request(_ type: MessageType, result: String, nanoseconds: UInt64) {
        let name = "\(type)"
        Counter(label: "trove_requests_total", dimensions: [("type", name), ("result", result)]).increment()
        Timer(label: "trove_request_duration_seconds", dimensions: [("type", name)])
            .recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// A GC run: when it ended, how long it took, what it freed, whether it completed.
    static func gc(seconds: Double, freedBytes: Int64, success: Bool) {
        Gauge(label: "trove_gc_last_run_timestamp_seconds").record(Date().timeIntervalSince1970)
        Gauge(label: "trove_gc_last_duration_seconds").record(seconds)
        Gauge(label: "trove_gc_last_freed_bytes").record(Double(freedBytes))
        Gauge(label: "trove_gc_last_success").record(success ? 1 : 0)
    }

    /// A scrub run: when it ended, how long it took, what it found, whether it was clean
    /// (complete and nothing found).
    static func scrub(seconds: Double, findings: Int, clean: Bool) {
        Gauge(label: "trove_scrub_last_run_timestamp_seconds").record(Date().timeIntervalSince1970)
        Gauge(label: "trove_scrub_last_duration_seconds").record(seconds)
        Gauge(label: "trove_scrub_last_findings").record(Double(findings))
        Gauge(label: "trove_scrub_last_clean").record(clean ? 1 : 0)
    }

    /// Sets the store's gauges (sizes, counts, ratios, read-only, disk space); run at scrape time
    /// on a worker thread (one catalog read).
    static func recordStore(_ store: Store) {
        if let s = try? store.stats() {
            Gauge(label: "trove_store_versions").record(s.versionCount)
            Gauge(label: "trove_store_packs").record(s.packCount)
            Gauge(label: "trove_store_chunks").record(s.chunkCount)
            Gauge(label: "trove_store_pack_bytes").record(Double(s.packBytes))
            Gauge(label: "trove_store_logical_bytes").record(Double(s.logicalBytes))
            Gauge(label: "trove_store_unique_bytes").record(Double(s.uniqueRawBytes))
            Gauge(label: "trove_store_stored_chunk_bytes").record(Double(s.storedChunkBytes))
            Gauge(label: "trove_dedup_ratio").record(s.dedupRatio)
            Gauge(label: "trove_compression_ratio").record(s.compressionRatio)
        }
        Gauge(label: "trove_read_only").record(store.isReadOnly ? 1 : 0)
        var st = statvfs()
        if statvfs(store.root, &st) == 0 {
            Gauge(label: "trove_disk_free_bytes").record(Double(st.f_bavail) * Double(st.f_frsize))
            Gauge(label: "trove_disk_size_bytes").record(Double(st.f_blocks) * Double(st.f_frsize))
        }
    }
}

/// The first handler of every protocol connection: counts the bytes it reads and writes (on the
/// wire, so TLS records included) and the connection while it is open.
final class TrafficCounter: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    func handlerAdded(context: ChannelHandlerContext) { ServerMetrics.connections.increment() }
    func handlerRemoved(context: ChannelHandlerContext) { ServerMetrics.connections.decrement() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        ServerMetrics.bytesReceived.increment(by: unwrapInboundIn(data).readableBytes)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        ServerMetrics.bytesSent.increment(by: unwrapOutboundIn(data).readableBytes)
        context.write(data, promise: promise)
    }
}

extension ContinuousClock.Instant {
    /// Seconds from this instant until now.
    var secondsSince: Double {
        let d = ContinuousClock.now - self
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
