import Foundation
import TroveCore

/// Small recipes live in the catalog instead of one file each (docs/STORE.md, "Objects").
///
/// A push of 20 000 small files stores 20 000 recipes. As files that was 20 000 creates, fsyncs
/// and renames (each fsync its own journal commit once the data of the others was allocated);
/// as rows of the catalog's `objects` table it is one SQLite transaction (one WAL fsync), with
/// the same guarantee: durable before acknowledged (`synchronous = FULL`).
///
/// A row holds exactly what an object file holds (`"TOBJ"` | codec | raw length | bytes), so
/// both are decoded and verified (SHA-256 = digest) by the same code. Reads look in the catalog
/// first, then for a file: stores written before this table existed keep their recipe files and
/// read as before. Trees and recipes above `maxCanonicalSize` stay files.
enum InlineObjects {
    /// Largest canonical recipe kept in the catalog (a recipe of ~450 chunks, files up to about
    /// 28 MiB at the default chunk sizes); larger ones are one per large file and stay files.
    static let maxCanonicalSize = 16 << 10
    static let recipeMagic: [UInt8] = Array("TRCP".utf8)

    /// Whether an object with these canonical bytes is kept in the catalog.
    static func accepts(_ canonical: [UInt8]) -> Bool {
        canonical.count <= maxCanonicalSize && canonical.starts(with: recipeMagic)
    }

    /// The stored form: an object file's bytes with codec raw (recipes are digests: they do not
    /// compress, and trying costs more than the row); with `cipher`, sealed like a file.
    static func encode(_ canonical: [UInt8], cipher: StoreCipher?, digest: Digest) -> Data {
        var w = ByteBuffer(capacity: ObjectFile.headerSize + canonical.count)
        w.raw(ObjectFile.magic)
        w.u8(Codec.raw.rawValue)
        w.u64(UInt64(canonical.count))
        w.raw(canonical)
        return Data(cipher?.sealObject(w.bytes, digest: digest) ?? w.bytes)
    }

    /// `encode` without a cipher, into `row` (replacing what it held; its storage is reused).
    static func encodePlain(_ canonical: [UInt8], into row: inout [UInt8]) {
        row.removeAll(keepingCapacity: true)
        row.append(contentsOf: ObjectFile.magic)
        row.append(Codec.raw.rawValue)
        let n = UInt64(canonical.count)
        for shift in stride(from: 56, through: 0, by: -8) { row.append(UInt8(truncatingIfNeeded: n >> UInt64(shift))) }
        row.append(contentsOf: canonical)
    }
}

extension Store {
    /// Inside a write transaction: stores small recipes as rows (replacing a row that is there,
    /// so re-storing heals a damaged one), sealed with `cipher` in an encrypted store. `direct`
    /// (`StoreOptions.directRows`): in digest order — a B-tree takes keys in order at its edge or
    /// beside the last one, dirtying fewer pages than random ones — each row bound as encoded
    /// into one reused buffer (`CatalogStatement.executeEach`).
    static func insertInlineObjects(
        _ db: any CatalogTransaction, _ objects: [(Digest, [UInt8])], now: Int64, cipher: StoreCipher?,
        direct: Bool = false
    ) throws {
        guard !objects.isEmpty else { return }
        let st = try db.cachedStatement(
            sql: """
                INSERT INTO objects (digest, data, created) VALUES (?, ?, ?)
                ON CONFLICT (digest) DO UPDATE SET data = excluded.data, created = excluded.created
                """)
        guard direct else {
            for (d, canonical) in objects {
                try st.execute(arguments: [d.data, InlineObjects.encode(canonical, cipher: cipher, digest: d), now])
            }
            return
        }
        let order = objects.count < 2 ? Array(objects.indices) : objects.indices.sorted { objects[$0].0 < objects[$1].0 }
        var row: [UInt8] = []
        try st.executeEach(count: order.count) { i, w in
            let (d, canonical) = objects[order[i]]
            w.digest(d)
            if let cipher {
                InlineObjects.encode(canonical, cipher: cipher, digest: d).withUnsafeBytes { w.bytes($0) }
            } else {
                InlineObjects.encodePlain(canonical, into: &row)
                row.withUnsafeBytes { w.bytes($0) }
            }
            w.integer(now)
        }
    }

    /// Inside a write transaction: removes a row; whether there was one.
    static func deleteInlineObject(_ db: any CatalogTransaction, _ digest: Data) throws -> Bool {
        try db.execute(sql: "DELETE FROM objects WHERE digest = ?", arguments: [digest])
        return db.changesCount > 0
    }

    /// The stored bytes of an object kept in the catalog (not yet decoded), or nil.
    func inlineObjectBytes(_ digest: Digest) throws(StoreError) -> [UInt8]? {
        try catalog.read { db in
            try Data.fetchOne(db, sql: "SELECT data FROM objects WHERE digest = ?", arguments: [digest.data])
                .map { [UInt8]($0) }
        }
    }

    /// Canonical bytes of those of `digests` kept in the catalog that read back intact, in one
    /// read transaction (at most `maxCanonicalSize` bytes each); the others are left out.
    public func readInlineObjects(_ digests: [Digest]) throws(StoreError) -> [Digest: [UInt8]] {
        guard !digests.isEmpty else { return [:] }
        let rows: [(Digest, [UInt8])] = try catalog.read { db in
            let st = try db.cachedStatement(sql: "SELECT data FROM objects WHERE digest = ?")
            return try digests.compactMap { d in try Data.fetchOne(st, arguments: [d.data]).map { (d, [UInt8]($0)) } }
        }
        var out: [Digest: [UInt8]] = [:]
        for (d, stored) in rows { out[d] = try? decodeObject(stored, d) }
        return out
    }

    /// Canonical bytes of many objects at once, each verified against its digest: the catalog's
    /// in one read transaction, files for the rest; absent ones are left out.
    func readObjects(_ digests: [Digest]) throws(StoreError) -> [Digest: [UInt8]] {
        var out = try readInlineObjects(digests)
        for d in digests where out[d] == nil {
            do { out[d] = try readObject(d) } catch .objectNotFound { continue }
        }
        return out
    }

    /// Digests of the objects kept in the catalog whose hex starts with `shard` (two hex digits),
    /// or all of them when `shard` is nil; sorted.
    func inlineObjectDigests(shard: String? = nil) throws(StoreError) -> [Digest] {
        var low = Data()
        var high = Data(repeating: 0xFF, count: 33)
        if let shard, let b = UInt8(shard, radix: 16) {
            low = Data([b])
            high = b == 0xFF ? Data(repeating: 0xFF, count: 33) : Data([b + 1])
        }
        return try catalog.read { db in
            try Data.fetchAll(
                db, sql: "SELECT digest FROM objects WHERE digest >= ? AND digest < ? ORDER BY digest",
                arguments: [low, high]
            ).compactMap(Digest.init(data:))
        }
    }

    /// Shards (first two hex digits) that hold objects, in the object storage or in the catalog.
    func objectShards() throws(StoreError) -> [String] {
        var shards = Set(try objectStorage.list(shard: nil).digests.map { String($0.hex.prefix(2)) })
        for d in try inlineObjectDigests() { shards.insert(String(d.hex.prefix(2))) }
        return shards.sorted()
    }

    /// Moves a damaged object kept in the catalog to quarantine/ (its bytes as a file) and
    /// deletes its row; the name of the quarantine file, or nil if there was no row.
    func quarantineInlineObject(_ d: Digest, name: String) throws -> String? {
        guard let bytes = try inlineObjectBytes(d) else { return nil }
        try FileIO.writeDurably(bytes, to: root + "/quarantine/" + name, tmpDir: tmpDir)
        _ = try catalog.write { db in try Store.deleteInlineObject(db, d.data) }
        return name
    }
}
