import Foundation
import TroveCore

/// What a scrub covers.
public enum ScrubScope: Sendable, Equatable, CustomStringConvertible {
    /// Every pack, object and version.
    case full
    /// Slice `index` of `count` (1-based): packs and object shards are partitioned by a stable
    /// hash of their names, so `count` runs with index 1…count cover the whole store.
    case slice(index: Int, count: Int)
    /// A random sample: each chunk and object is checked with this probability (parts per
    /// million). Packs' trailers are always checked.
    case sample(partsPerMillion: Int)

    public var description: String {
        switch self {
        case .full: "full"
        case .slice(let i, let n): "slice \(i)/\(n)"
        case .sample(let p): "sample \(p)ppm"
        }
    }
}

/// Tunables for one scrub.
public struct ScrubOptions: Sendable {
    public var scope: ScrubScope
    /// Read at most this many bytes per second (0: unlimited).
    public var rateBytesPerSecond: Int64
    /// Also drop index rows and commits whose data is *missing* (pack gone or truncated, index
    /// entry not matching its pack, object file gone). Data whose bytes are positively bad is
    /// always quarantined.
    public var repair: Bool

    public init(scope: ScrubScope = .full, rateBytesPerSecond: Int64 = 0, repair: Bool = false) {
        self.scope = scope
        self.rateBytesPerSecond = rateBytesPerSecond
        self.repair = repair
    }
}

/// One problem a scrub found.
public struct ScrubFinding: Sendable, Codable, Equatable {
    /// `chunk-corrupt`, `chunk-missing`, `index-mismatch`, `pack-missing`, `pack-damaged`,
    /// `object-corrupt`, `object-missing`, `recipe-dangling`, `tree-dangling`, `version-broken`,
    /// `bucket-key-broken`.
    public var kind: String
    /// The chunk or object digest (`sha256:HEX`), pack name, `NAME:VERSION` or `s3://BUCKET/KEY`.
    public var subject: String
    public var pack: String?
    public var offset: Int?
    public var detail: String
    /// `quarantined`, `index-row-dropped`, `uncommitted`, or `reported` (left as is).
    public var action: String
}

/// A version that damaged data affects, and which of its paths.
public struct AffectedVersion: Sendable, Codable, Equatable {
    public var name: String
    public var version: String
    /// Affected file paths (at most 100 listed).
    public var paths: [String]
    public var affectedFiles: Int
}

/// A bucket key whose object damaged data affects (its blob lost a chunk or its recipe, so it is
/// no longer committed).
public struct AffectedBucketKey: Sendable, Codable, Equatable {
    public var bucket: String
    public var key: String
}

/// What a scrub checked and found.
public struct ScrubResult: Sendable, Codable, Equatable {
    public var mode = "full"
    public var repair = false
    /// True when this run continued an interrupted run of the same mode.
    public var resumed = false
    /// Units (packs, object shards) skipped because the interrupted run had done them.
    public var unitsSkipped = 0
    public var startedAt: Int64 = 0
    public var durationMs: Int64 = 0
    public var packsChecked = 0
    public var chunksChecked = 0
    public var bytesRead: Int64 = 0
    public var objectsChecked = 0
    public var versionsChecked = 0
    /// Records in packs that no index entry points at (garbage a GC left; not damage).
    public var unindexedRecords = 0
    public var findings: [ScrubFinding] = []
    /// Digests (`sha256:HEX`) of damaged or missing chunks.
    public var damagedChunks: [String] = []
    /// Digests of damaged or missing objects (recipes, trees).
    public var damagedObjects: [String] = []
    public var affectedVersions: [AffectedVersion] = []
    /// Bucket keys whose objects damage un-committed, in this run or an earlier one and not yet
    /// healed (at most 10 000 listed, in bucket and key order).
    public var affectedBucketKeys: [AffectedBucketKey] = []
    public var quarantined = 0
    public var uncommittedBlobs = 0
    public var uncommittedTrees = 0
    /// Every unit of this mode has now been checked (for slices: this slice).
    public var complete = false

    public init() {}

    /// No damage found.
    public var clean: Bool { findings.isEmpty }

    /// The report as JSON (sorted keys), with `clean` included.
    public func json(pretty: Bool = false) -> String {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        guard let data = try? e.encode(self),
            var obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return "{}" }
        obj["clean"] = clean
        let out = try? JSONSerialization.data(
            withJSONObject: obj, options: pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys])
        return out.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
