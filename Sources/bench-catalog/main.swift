// bench-catalog: the catalog's costs on SQLite and on PostgreSQL, driven by scripts/bench-scaling.
//
//   bench-catalog [--postgres postgres://USER@HOST:PORT/DB] [--root DIR] [--chunks N] [--queries Q]
//                 [--segment B] [--runs R]
//
// For SQLite (a fresh store in DIR) and, with --postgres, for PostgreSQL (a fresh store whose
// catalog is that empty database):
//   1. chunk rows: N rows indexed in transactions of B rows (one group-commit segment), one
//      INSERT per row (the catalog seam before batching) and multi-row INSERTs
//      (`CatalogTransaction.insertRows`); transaction latency (median ms) and rows/s;
//   2. group commit: `putChunks` of B incompressible 4 KiB chunks (segment write + fsync + index
//      transaction), median ms per call and chunks/s;
//   3. HAS: `missing` over Q digests (half present) against the store, lookups/s (median);
//   4. version commit: `commit` of a one-file tree + `createVersion`, median ms.
import Foundation
import TroveCore
import TrovePostgres
import TroveStore

#if canImport(Glibc)
    import Glibc
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? 0 : s[s.count / 2]
}

func option(_ name: String, _ def: String) -> String {
    let a = CommandLine.arguments
    if let i = a.firstIndex(of: name), i + 1 < a.count { return a[i + 1] }
    return def
}

func fail(_ m: String) -> Never {
    FileHandle.standardError.write(Data("bench-catalog: \(m)\n".utf8))
    exit(1)
}

final class Bench {
    let rowsTotal = Int(option("--chunks", "20000")) ?? 20_000
    let queries = Int(option("--queries", "20000")) ?? 20_000
    let segment = Int(option("--segment", "256")) ?? 256
    let runs = Int(option("--runs", "5")) ?? 5
    var rng = SplitMix64(seed: 16)

    func randomDigest() -> Digest {
        var b = [UInt8]()
        b.reserveCapacity(32)
        for _ in 0..<4 { withUnsafeBytes(of: rng.next()) { b += $0 } }
        return Digest(bytes: b)!
    }

    /// Chunk rows of fake entries (pack 0: the rows are only for timing).
    func chunkRows(_ n: Int) -> [[CatalogValue]] {
        (0..<n).map { i in
            [
                .blob(Data(randomDigest().bytes)), .integer(0), .integer(Int64(i * 4096)), .integer(4096),
                .integer(4096),
                .integer(0), .integer(1), .integer(1),
            ]
        }
    }

}

let insertOne = """
    INSERT INTO chunks (digest, pack, "offset", stored_len, raw_len, codec, created, touched)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
    """
let insertMany = CatalogBulkInsert(
    table: "chunks",
    columns: ["digest", "pack", "\"offset\"", "stored_len", "raw_len", "codec", "created", "touched"],
    suffix: "ON CONFLICT DO NOTHING")

extension Bench {
    func bench(_ label: String, store: Store, catalog: any CatalogDatabase) {
        // 1. Chunk rows, row by row and batched, in transactions of `segment` rows.
        for batched in [false, true] {
            var latencies: [Double] = []
            let t0 = now()
            var done = 0
            while done < rowsTotal {
                let rows = chunkRows(min(segment, rowsTotal - done))
                let t = now()
                do {
                    try catalog.write { db in
                        if batched {
                            try db.insertRows(insertMany, values: rows.flatMap { $0 })
                        } else {
                            let st = try db.cachedStatement(sql: insertOne)
                            for r in rows { try st.execute(arguments: CatalogArguments(values: r)) }
                        }
                    }
                } catch { fail("\(label): \(error)") }
                latencies.append(now() - t)
                done += rows.count
            }
            let what = batched ? "batched" : "row_by_row"
            print(
                String(
                    format: "%@ chunk_rows_%@ txn_ms %.2f rows_per_s %.0f", label, what,
                    median(latencies) * 1000,
                    Double(rowsTotal) / (now() - t0)))
        }

        // 2. Group commit of `segment` new 4 KiB chunks per call.
        var present: [Digest] = []
        var latencies: [Double] = []
        let t0 = now()
        var stored = 0
        while stored < rowsTotal {
            var batch: [ChunkInput] = []
            for _ in 0..<segment {
                var raw = [UInt8]()
                raw.reserveCapacity(4096)
                while raw.count < 4096 { withUnsafeBytes(of: rng.next()) { raw += $0 } }
                let d = SHA256.hash(raw)
                present.append(d)
                batch.append(ChunkInput(digest: d, codec: .raw, rawLength: raw.count, bytes: raw))
            }
            let t = now()
            do { _ = try store.putChunks(batch) } catch { fail("\(label): \(error)") }
            latencies.append(now() - t)
            stored += segment
        }
        print(
            String(
                format: "%@ group_commit ms %.2f chunks_per_s %.0f", label, median(latencies) * 1000,
                Double(stored) / (now() - t0)))

        // 3. HAS lookups.
        var rates: [Double] = []
        for _ in 0..<runs {
            var q: [Digest] = []
            for k in 0..<queries {
                q.append(k % 2 == 0 ? present[Int(rng.next() % UInt64(present.count))] : randomDigest())
            }
            q.shuffle(using: &rng)
            let t = now()
            let missing: [Digest]
            do { missing = try store.missing(q) } catch { fail("\(label): \(error)") }
            rates.append(Double(queries) / (now() - t))
            guard missing.count == queries / 2 else {
                fail("\(label): wrong answer: \(missing.count) missing")
            }
        }
        print(
            String(format: "%@ has_lookups_per_s %.0f (%d digests per call)", label, median(rates), queries))

        // 4. Version commits.
        var commits: [Double] = []
        for i in 0..<max(20, runs * 4) {
            let content = Array("version \(i) \(rng.next())\n".utf8)
            let d = SHA256.hash(content)
            do {
                _ = try store.putChunks([
                    ChunkInput(digest: d, codec: .raw, rawLength: content.count, bytes: content)
                ])
                let recipe = Recipe(
                    blobDigest: d, size: UInt64(content.count),
                    chunks: [RecipeChunk(digest: d, length: UInt32(content.count))])
                let tree = Tree(entries: [.file("f.txt", blob: d, size: UInt64(content.count))])
                let t = now()
                guard case .committed(let td) = try store.commit(recipes: [recipe], tree: tree) else {
                    fail("not committed")
                }
                _ = try store.createVersion(name: "bench/v", version: "\(i)", tree: td, creator: "bench")
                commits.append(now() - t)
            } catch { fail("\(label): \(error)") }
        }
        print(String(format: "%@ version_commit_ms %.2f", label, median(commits) * 1000))
    }
}

let base = option("--root", FileManager.default.temporaryDirectory.path)
let b = Bench()

let root = base + "/bench-catalog-\(getpid())"
try? FileManager.default.removeItem(atPath: root)
do { try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true) } catch { fail("\(error)") }
defer { try? FileManager.default.removeItem(atPath: root) }
do {
    let store = try Store.create(at: root + "/sqlite")
    let catalog = try SQLiteCatalog(path: root + "/sqlite/catalog.sqlite")
    b.bench("sqlite", store: store, catalog: catalog)
} catch { fail("sqlite: \(error)") }
let url = option("--postgres", "")
if !url.isEmpty {
    do {
        let config = try PostgresCatalogConfig(
            url: url, password: ProcessInfo.processInfo.environment["PGPASSWORD"])
        let catalog = try PostgresCatalog.open(config)
        let store = try Store.create(at: root + "/postgres", options: StoreOptions(catalog: catalog))
        b.bench("postgres", store: store, catalog: catalog)
    } catch { fail("postgres: \(error)") }
}
