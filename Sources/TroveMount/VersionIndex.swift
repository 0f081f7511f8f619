import TroveCore

/// A version's tree arranged for path lookups and directory listings. Immutable.
final class VersionIndex: Sendable {
    /// What lives at a path inside a version.
    enum Item: Sendable {
        case directory(mode: UInt32)
        case entry(TreeEntry)
    }

    private let items: [String: Item]
    private let children: [String: [String]]

    /// Indexes `tree` (already validated: sorted, safe paths, nothing beneath a file).
    init(_ tree: Tree) {
        var items: [String: Item] = ["": .directory(mode: 0o755)]
        var children: [String: Set<String>] = ["": []]
        for e in tree.entries {
            items[e.path] = e.kind == .directory ? .directory(mode: e.mode) : .entry(e)
            if e.kind == .directory, children[e.path] == nil { children[e.path] = [] }
            // Register the entry in its parent and every implied ancestor directory.
            var path = Substring(e.path)
            while true {
                let slash = path.lastIndex(of: "/")
                let parent = slash.map { String(path[..<$0]) } ?? ""
                let name = String(slash.map { path[path.index(after: $0)...] } ?? path)
                let inserted = children[parent, default: []].insert(name).inserted
                if items[parent] == nil { items[parent] = .directory(mode: 0o755) }
                guard inserted, let s = slash else { break }
                path = path[..<s]
            }
        }
        self.items = items
        self.children = children.mapValues { $0.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }
    }

    /// The item at `path` ("" is the version directory itself).
    func item(_ path: String) -> Item? { items[path] }

    /// Names directly inside the directory `path`, in byte order; nil when it is not a directory.
    func list(_ path: String) -> [String]? { children[path] }
}
