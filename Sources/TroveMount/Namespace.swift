/// The top of the mount: artifact names as directories, versions as directories, aliases as
/// symlinks. An immutable snapshot built from one listing.
///
/// `NAME` components become nested directories (`models/churn/1.4.0`). When a version or alias tag
/// collides with a nested name component (version `b` of name `a` and a name `a/b`), the version
/// or alias wins and the nested name is hidden from the mount.
final class Namespace: Sendable {
    /// A node of the name hierarchy.
    enum Node: Sendable {
        case directory(Directory)
        case version(MountedVersion)
        /// An alias: a symlink to the version tag `target` in the same directory.
        case alias(target: String, version: MountedVersion)
    }

    /// A directory of names, versions and aliases.
    final class Directory: Sendable {
        let children: [String: Node]
        /// Newest creation time below, ms (the directory's mtime).
        let modified: Int64
        /// Child names in byte order (for readdir).
        let sortedNames: [String]

        fileprivate init(_ draft: Draft) {
            children = draft.children.mapValues {
                switch $0 {
                case .directory(let d): .directory(Directory(d))
                case .version(let v): .version(v)
                case .alias(let target, let v): .alias(target: target, version: v)
                }
            }
            modified = draft.modified
            sortedNames = children.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }
    }

    let root: Directory

    /// Builds the hierarchy from a listing (any order; the result does not depend on it).
    init(_ versions: [MountedVersion]) {
        let top = Draft()
        // Versions first, so that a later nested name never replaces a version or alias.
        let sorted = versions.sorted { ($0.name, $0.version) < ($1.name, $1.version) }
        for v in sorted {
            guard let dir = top.directory(for: v.name, creating: true, modified: v.createdAt) else { continue }
            if case .version = dir.children[v.version] { continue }
            dir.children[v.version] = .version(v)
        }
        for v in sorted {
            guard let dir = top.directory(for: v.name, creating: false, modified: v.createdAt) else { continue }
            for a in v.aliases where dir.children[a] == nil {
                dir.children[a] = .alias(target: v.version, version: v)
            }
        }
        root = Directory(top)
    }

    /// A directory while the hierarchy is being built (then frozen into a ``Directory``).
    fileprivate final class Draft {
        enum Node {
            case directory(Draft)
            case version(MountedVersion)
            case alias(target: String, version: MountedVersion)
        }
        var children: [String: Node] = [:]
        var modified: Int64 = 0

        /// The directory of `name` below this one, creating it when asked; nil when a version or
        /// alias occupies a component of the name.
        func directory(for name: String, creating: Bool, modified: Int64) -> Draft? {
            var dir = self
            self.modified = max(self.modified, modified)
            for component in name.split(separator: "/", omittingEmptySubsequences: false).map(String.init) {
                switch dir.children[component] {
                case .directory(let d)?:
                    dir = d
                case nil:
                    guard creating else { return nil }
                    let d = Draft()
                    dir.children[component] = .directory(d)
                    dir = d
                case .version?, .alias?:
                    return nil
                }
                dir.modified = max(dir.modified, modified)
            }
            return dir
        }
    }

    /// Where a mount path (components below the mount point) leads.
    enum Resolution {
        case directory(Directory)
        case alias(target: String, version: MountedVersion)
        /// Inside a version: `rest` is the path within its tree ("" for the version directory).
        case version(MountedVersion, rest: [Substring])
    }

    /// Resolves path components; nil when nothing is there.
    func resolve(_ components: [Substring]) -> Resolution? {
        var dir = root
        var i = 0
        while i < components.count {
            switch dir.children[String(components[i])] {
            case .directory(let d)?:
                dir = d
            case .version(let v)?:
                return .version(v, rest: Array(components[(i + 1)...]))
            case .alias(let target, let v)?:
                return i == components.count - 1 ? .alias(target: target, version: v) : nil
            case nil:
                return nil
            }
            i += 1
        }
        return .directory(dir)
    }
}
