import TroveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The checks a pull makes on a tree before writing anything (PROTOCOL.md §10): every path is a
/// safe relative path, nothing lies beneath a file or symlink, and — unless explicitly allowed —
/// no symlink resolves outside the destination, even through other symlinks of the tree.
public enum PullSafety {
    /// Most symlinks followed while resolving one target (like the kernel's ELOOP limit).
    static let maxHops = 40

    /// Throws ``ClientError/unsafeTree(detail:)`` for the first unsafe entry of `tree`.
    ///
    /// - Parameter allowExternalSymlinks: accept symlinks whose target lies outside the
    ///   destination (they are created as links; nothing is ever written through them).
    public static func check(_ tree: Tree, allowExternalSymlinks: Bool = false) throws(ClientError) {
        for e in tree.entries {
            do { try TreePath.validate(e.path) } catch { throw .unsafeTree(detail: "\(error)") }
        }
        do { try tree.validate() } catch { throw .unsafeTree(detail: "\(error)") }
        if allowExternalSymlinks { return }
        var links: [String: String] = [:]
        for e in tree.entries where e.kind == .symlink { links[e.path] = e.target ?? "" }
        for (path, target) in links.sorted(by: { $0.key < $1.key }) {
            if !staysInside(link: path, target: target, links: links) {
                throw .unsafeTree(
                    detail: "symlink \"\(path)\" -> \"\(target)\" points outside the destination "
                        + "(pass --allow-external-symlinks to create such links anyway)")
            }
        }
    }

    /// The modes a pull gives files and directories (docs/CLIENT.md, "Modes"): the tree's
    /// permission bits with the process umask applied, as for any file a program creates; the
    /// setuid, setgid and sticky bits are dropped unless `preserveSpecial` (then kept, umask still
    /// applied to the permission bits). Symlinks are left alone.
    public static func localModes(_ tree: Tree, preserveSpecial: Bool, umask mask: UInt32 = currentUmask())
        -> Tree
    {
        var out = tree
        for i in out.entries.indices where out.entries[i].kind != .symlink {
            out.entries[i].mode = localMode(out.entries[i].mode, preserveSpecial: preserveSpecial, umask: mask)
        }
        return out
    }

    /// One mode under the rule of ``localModes(_:preserveSpecial:umask:)``.
    public static func localMode(_ mode: UInt32, preserveSpecial: Bool, umask mask: UInt32) -> UInt32 {
        let special: UInt32 = preserveSpecial ? mode & 0o7000 : 0
        return special | (mode & 0o777 & ~mask)
    }

    /// The process umask (read by setting it and putting it back).
    public static func currentUmask() -> UInt32 {
        let m = umask(0o022)
        umask(m)
        return UInt32(m)
    }

    /// Whether the symlink at `link` (a tree path) with `target` resolves, lexically and through
    /// the tree's other symlinks, to a path inside the destination.
    public static func staysInside(link: String, target: String, links: [String: String]) -> Bool {
        if target.hasPrefix("/") { return false }
        var stack = link.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        stack.removeLast()
        var pending = Array(
            target.split(separator: "/", omittingEmptySubsequences: true).map(String.init).reversed())
        var hops = 0
        while let c = pending.popLast() {
            if c == "." { continue }
            if c == ".." {
                if stack.isEmpty { return false }
                stack.removeLast()
                continue
            }
            stack.append(c)
            if let t = links[stack.joined(separator: "/")] {
                hops += 1
                if hops > maxHops || t.hasPrefix("/") { return false }
                stack.removeLast()
                pending += t.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
                    .reversed()
            }
        }
        return true
    }
}
