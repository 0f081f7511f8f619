import TroveCore

/// Chunking parameters fixed for a store at init (mirrors TroveCore's `ChunkerParameters`).
public struct StoreChunking: Sendable, Hashable {
    public var min: Int
    public var avg: Int
    public var max: Int
    public var normalization: Int

    /// 16 KiB / 64 KiB / 256 KiB, normalization level 1.
    public static let `default` = StoreChunking(
        min: 16 << 10, avg: 64 << 10, max: 256 << 10, normalization: 1)

    public init(min: Int, avg: Int, max: Int, normalization: Int) {
        self.min = min
        self.avg = avg
        self.max = max
        self.normalization = normalization
    }
}

/// The contents of `trove.toml`: store identity and parameters fixed at init.
public struct StoreConfig: Sendable, Equatable {
    /// The format version of a plaintext store.
    public static let formatVersion: Int64 = 1
    /// The format version of a store encrypted at rest (older builds refuse to open it).
    public static let encryptedFormatVersion: Int64 = 2

    /// Random UUID identifying the store.
    public var storeID: String
    public var format: Int64
    public var chunking: StoreChunking
    /// Default codec for chunks the store compresses itself, and for objects.
    public var codec: Codec
    public var level: Int
    /// Creation time, seconds since the epoch.
    public var created: Int64
    /// Containers whose structure forces chunk boundaries (`chunking.formats`). New stores use
    /// `.auto`; a `trove.toml` without the key (stores created before) means `.none`.
    public var formats: FormatPolicy
    /// Encryption at rest: the id of the key the store was created with (`[encryption] key_id`,
    /// format 2), nil for a plaintext store. Set by `Store.create` from `StoreOptions.encryption`.
    public var encryptionKeyID: String? {
        didSet { format = encryptionKeyID == nil ? StoreConfig.formatVersion : StoreConfig.encryptedFormatVersion }
    }

    public init(
        storeID: String = StoreConfig.makeUUID(), chunking: StoreChunking = .default, codec: Codec = .zstd,
        level: Int = 3, created: Int64 = Clock.nowSeconds(), formats: FormatPolicy = .auto
    ) {
        self.formats = formats
        self.storeID = storeID
        self.format = StoreConfig.formatVersion
        self.chunking = chunking
        self.codec = codec
        self.level = level
        self.created = created
    }

    /// A random RFC 4122 version-4 UUID string.
    public static func makeUUID() -> String {
        var b = (0..<16).map { _ in UInt8.random(in: 0...255) }
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        let hex = b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        let h = Array(hex)
        return String(h[0..<8]) + "-" + String(h[8..<12]) + "-" + String(h[12..<16]) + "-"
            + String(h[16..<20]) + "-"
            + String(h[20..<32])
    }

    /// The TOML text written at init.
    public var tomlText: String {
        """
        # Trove store configuration. Written once at init; do not edit.
        [store]
        id = "\(storeID)"
        format = \(format)
        created = \(created)

        [chunking]
        min = \(chunking.min)
        avg = \(chunking.avg)
        max = \(chunking.max)
        normalization = \(chunking.normalization)
        formats = "\(formats)"

        [compression]
        codec = "\(codec)"
        level = \(level)

        """ + (encryptionKeyID.map { "[encryption]\ncipher = \"aes-256-gcm\"\nkey_id = \"\($0)\"\n" } ?? "")
    }

    /// Parses and validates `trove.toml` text. `path` is only used in error messages.
    public static func parse(_ text: String, path: String) throws(StoreError) -> StoreConfig {
        let root: [String: TOMLValue]
        do { root = try TOML.parse(text) } catch { throw .corruptConfig(path: path, detail: "\(error)") }
        func int(_ table: String, _ key: String) throws(StoreError) -> Int64 {
            guard let v = root[table]?[key]?.integer else {
                throw .corruptConfig(path: path, detail: "missing integer \(table).\(key)")
            }
            return v
        }
        func str(_ table: String, _ key: String) throws(StoreError) -> String {
            guard let v = root[table]?[key]?.string else {
                throw .corruptConfig(path: path, detail: "missing string \(table).\(key)")
            }
            return v
        }
        let format = try int("store", "format")
        guard format == formatVersion || format == encryptedFormatVersion else {
            throw .unsupportedFormat(found: format, supported: encryptedFormatVersion)
        }
        var keyID: String? = nil
        if format == encryptedFormatVersion {
            guard root["encryption"]?["cipher"]?.string == "aes-256-gcm",
                let id = root["encryption"]?["key_id"]?.string, id.utf8.count == 16,
                id.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
            else {
                throw .corruptConfig(
                    path: path, detail: "format 2 needs [encryption] cipher = \"aes-256-gcm\" and a 16-hex key_id")
            }
            keyID = id
        } else if root["encryption"] != nil {
            throw .corruptConfig(path: path, detail: "[encryption] in a format 1 (plaintext) store")
        }
        let id = try str("store", "id")
        guard id.utf8.count == 36 else { throw .corruptConfig(path: path, detail: "store.id is not a UUID") }
        let chunking = StoreChunking(
            min: Int(try int("chunking", "min")), avg: Int(try int("chunking", "avg")),
            max: Int(try int("chunking", "max")), normalization: Int(try int("chunking", "normalization")))
        do { try chunking.parameters.validate() } catch {
            throw .corruptConfig(path: path, detail: "chunking parameters: \(error)")
        }
        guard let codec = Codec(name: try str("compression", "codec")) else {
            throw .corruptConfig(path: path, detail: "compression.codec must be raw, zstd or lz4")
        }
        let level = try int("compression", "level")
        guard (1...19).contains(level) else {
            throw .corruptConfig(path: path, detail: "compression.level must be 1...19")
        }
        var formats = FormatPolicy.none
        if let value = root["chunking"]?["formats"] {
            guard let text = value.string, let policy = try? FormatPolicy(parsing: text) else {
                throw .corruptConfig(
                    path: path,
                    detail: "chunking.formats must be \"auto\", \"none\" or a list of zip, safetensors, tar")
            }
            formats = policy
        }
        var c = StoreConfig(
            storeID: id, chunking: chunking, codec: codec, level: Int(level),
            created: try int("store", "created"), formats: formats)
        c.encryptionKeyID = keyID
        c.format = format
        return c
    }
}

/// Wall-clock helpers.
public enum Clock {
    /// Seconds since the epoch.
    public static func nowSeconds() -> Int64 { Int64(time(nil)) }
    /// Milliseconds since the epoch.
    public static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

#if canImport(Glibc)
    import Glibc
#endif

extension StoreChunking {
    /// The chunker parameters for TroveCore's `FastCDC` / `Ingest`.
    public var parameters: ChunkerParameters {
        ChunkerParameters(min: min, avg: avg, max: max, normalization: normalization)
    }

    /// From TroveCore's chunker parameters.
    public init(_ p: ChunkerParameters) {
        self.init(min: p.min, avg: p.avg, max: p.max, normalization: p.normalization)
    }
}
