import ArgumentParser
import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `trove stat`: store statistics.
struct StatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat",
        abstract: "Show store statistics: logical vs stored bytes, dedup and compression ratios, counts.",
        discussion: """
            logical: sum of file sizes of all live versions; unique: raw bytes of distinct chunks; \
            stored: bytes in packs after compression. dedup ratio = logical / unique; compression ratio \
            = unique / stored; overall = logical / stored. buckets: those the token sees (S3 API), their \
            keys and the sum of their objects' sizes (not part of logical).
            """)

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            let conn = try client.connect()
            defer { conn.close() }
            let s = try Remote(connection: conn).stats()
            // Buckets the token sees (an older troved without buckets: none).
            let buckets = (try? Remote(connection: conn).buckets()) ?? []
            let bucketKeys = buckets.reduce(UInt64(0)) { $0 + $1.keys }
            let bucketBytes = buckets.reduce(UInt64(0)) { $0 + $1.bytes }
            func ratio(_ a: UInt64, _ b: UInt64) -> Double {
                b == 0 ? 1 : (Double(a) / Double(b) * 1000).rounded() / 1000
            }
            if json {
                printJSON([
                    "storeID": s.storeID, "logicalBytes": s.logicalBytes, "uniqueBytes": s.uniqueBytes,
                    "storedBytes": s.storedBytes, "chunks": s.chunkCount, "packs": s.packCount,
                    "objects": s.objectCount, "versions": s.versionCount, "aliases": s.aliasCount,
                    "buckets": buckets.count, "bucketKeys": bucketKeys, "bucketBytes": bucketBytes,
                    "dedupRatio": ratio(s.logicalBytes, s.uniqueBytes),
                    "compressionRatio": ratio(s.uniqueBytes, s.storedBytes),
                    "overallRatio": ratio(s.logicalBytes, s.storedBytes),
                    "chunker": [
                        "min": s.chunkMin, "avg": s.chunkAvg, "max": s.chunkMax,
                        "normalization": s.normalization, "formats": conn.formatPolicy.description,
                    ],
                ])
                return
            }
            print("store        \(s.storeID)")
            print("logical      \(Progress.bytes(s.logicalBytes)) (\(s.logicalBytes) bytes)")
            print("unique       \(Progress.bytes(s.uniqueBytes)) (\(s.uniqueBytes) bytes)")
            print("stored       \(Progress.bytes(s.storedBytes)) (\(s.storedBytes) bytes)")
            print("dedup        \(ratio(s.logicalBytes, s.uniqueBytes))x")
            print("compression  \(ratio(s.uniqueBytes, s.storedBytes))x")
            print("overall      \(ratio(s.logicalBytes, s.storedBytes))x")
            print("chunks       \(s.chunkCount)")
            print("packs        \(s.packCount)")
            print("objects      \(s.objectCount)")
            print("versions     \(s.versionCount)")
            print("aliases      \(s.aliasCount)")
            print("buckets      \(buckets.count) (\(bucketKeys) keys, \(Progress.bytes(bucketBytes)))")
            print(
                "chunker      min \(s.chunkMin), avg \(s.chunkAvg), max \(s.chunkMax), normalization \(s.normalization)"
            )
            print("formats      \(conn.formatPolicy)")
        }
    }
}
