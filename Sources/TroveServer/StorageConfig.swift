import TroveCore

/// `[storage]` of the configuration: where packs and objects (recipes, trees) live
/// (docs/SCALING.md); objects follow packs: `packs = "s3"` puts both in the object store.
public struct StorageSettings: Sendable, Equatable {
    /// `packs = "local"` (the store's packs/ directory, the default) or `"s3"`.
    public enum Packs: String, Sendable, Equatable { case local, s3 }

    public var packs: Packs = .local
    /// `[storage.s3]`; required when `packs = "s3"`.
    public var s3: S3StorageSettings?

    public init() {}

    static func parse(_ value: TOMLValue, _ reader: TableReader) throws(ConfigError) -> StorageSettings {
        var out = StorageSettings()
        let path = reader.path
        for (k, v) in try reader.table(value, "storage") {
            switch k {
            case "packs":
                let text = try reader.string(v, "storage.packs")
                guard let p = Packs(rawValue: text) else {
                    throw ConfigError("\(path): storage.packs must be \"local\" or \"s3\", not \"\(text)\"")
                }
                out.packs = p
            case "s3": out.s3 = try S3StorageSettings.parse(v, reader)
            default: throw ConfigError("\(path): unknown key storage.\(k) (known: packs, s3)")
            }
        }
        if out.packs == .s3 {
            guard let s3 = out.s3 else {
                throw ConfigError("\(path): storage.packs = \"s3\" needs a [storage.s3] table with endpoint and bucket")
            }
            guard !s3.endpoint.isEmpty, !s3.bucket.isEmpty else {
                throw ConfigError("\(path): [storage.s3] needs endpoint (http://HOST:PORT) and bucket")
            }
        }
        return out
    }
}

/// `[storage.s3]`: the object store that holds the packs and objects.
public struct S3StorageSettings: Sendable, Equatable {
    /// `http://HOST:PORT` (path-style requests).
    public var endpoint = ""
    public var bucket = ""
    public var region = "us-east-1"
    /// Prepended to every key (e.g. `"trove/"`).
    public var prefix = ""
    /// Credentials: these, or `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` from the environment.
    public var accessKeyID: String?
    /// A file holding the secret access key (its first line).
    public var secretAccessKeyFile: String?
    /// Bytes of packs kept under `--root` as the local read cache (default 4 GiB).
    public var cacheSize = 4 << 30
    /// Bytes of objects (recipes, trees) kept under `--root` as the local cache (default 1 GiB).
    public var objectCacheSize = 1 << 30

    public init() {}

    static func parse(_ value: TOMLValue, _ reader: TableReader) throws(ConfigError) -> S3StorageSettings {
        var s = S3StorageSettings()
        for (k, v) in try reader.table(value, "storage.s3") {
            switch k {
            case "endpoint": s.endpoint = try reader.string(v, "storage.s3.endpoint")
            case "bucket": s.bucket = try reader.string(v, "storage.s3.bucket")
            case "region": s.region = try reader.string(v, "storage.s3.region")
            case "prefix": s.prefix = try reader.string(v, "storage.s3.prefix")
            case "access_key_id": s.accessKeyID = try reader.string(v, "storage.s3.access_key_id")
            case "secret_access_key_file":
                s.secretAccessKeyFile = try reader.string(v, "storage.s3.secret_access_key_file")
            case "cache_size": s.cacheSize = try reader.size(v, "storage.s3.cache_size", 0...Int.max)
            case "object_cache_size":
                s.objectCacheSize = try reader.size(v, "storage.s3.object_cache_size", 0...Int.max)
            default:
                throw ConfigError(
                    "\(reader.path): unknown key storage.s3.\(k) (known: endpoint, bucket, region, prefix, "
                        + "access_key_id, secret_access_key_file, cache_size, object_cache_size)")
            }
        }
        return s
    }
}
