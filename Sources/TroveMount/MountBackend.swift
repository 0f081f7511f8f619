import TroveCore

/// One live version of an artifact, as the mount shows it.
public struct MountedVersion: Sendable, Hashable {
    /// Artifact name (`/`-separated).
    public var name: String
    /// Version tag.
    public var version: String
    /// Tree digest.
    public var tree: Digest
    /// Creation time, milliseconds since the Unix epoch.
    public var createdAt: Int64
    /// Aliases of the same name that point at this version.
    public var aliases: [String]

    public init(name: String, version: String, tree: Digest, createdAt: Int64, aliases: [String]) {
        self.name = name
        self.version = version
        self.tree = tree
        self.createdAt = createdAt
        self.aliases = aliases
    }
}

/// What the mount needs from a store. Every method may be called from many threads at once.
///
/// Contract: ``tree(_:)`` returns a tree whose canonical bytes hash to `digest`, ``recipe(blob:size:)``
/// a recipe of that blob whose lengths sum to `size`, and ``chunks(_:)`` the raw bytes of each
/// requested chunk, already checked against its SHA-256 and length. A backend that cannot verify
/// must throw, never return unverified bytes.
public protocol MountBackend: AnyObject, Sendable {
    /// Every live (non-retired) version the caller may see, with its aliases.
    func listVersions() throws(MountError) -> [MountedVersion]
    /// The verified tree with this digest.
    func tree(_ digest: Digest) throws(MountError) -> Tree
    /// The verified recipe of a blob of `size` bytes.
    func recipe(blob: Digest, size: UInt64) throws(MountError) -> Recipe
    /// The raw bytes of each chunk, in order, each verified.
    func chunks(_ wanted: [RecipeChunk]) throws(MountError) -> [[UInt8]]
    /// The most chunks (and bytes) one ``chunks(_:)`` call should ask for.
    var maxChunksPerRequest: Int { get }
}
