#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Free space (docs/OPERATIONS.md, "Disk full"): a floor that new data may not cross, and a
/// pre-allocated reserve file given back when the disk is full anyway (another process filled
/// it), so the catalog can open and fsck and GC can run.
extension Store {
    /// The reserve file.
    static func reservePath(root: String) -> String { root + "/reserve" }

    /// Bytes free on the store's filesystem (-1 if unknown).
    public var freeBytes: Int64 { FileIO.freeBytes(at: root) }

    /// Throws `.noSpace` when writing `bytes` more would leave less than the floor free.
    func checkSpace(_ bytes: Int) throws(StoreError) {
        guard options.minFreeSpace > 0 else { return }
        let free = freeBytes
        let needed = Int64(options.minFreeSpace) + Int64(bytes)
        guard free >= 0, free < needed else { return }
        throw .noSpace(
            path:
                "\(root) (which keeps \(StoreError.bytes(Int64(options.minFreeSpace))) free for the catalog and GC)",
            free: free, needed: needed)
    }

    /// Deletes the reserve file when the filesystem has less free space than the file holds.
    /// Returns a note for the log when it did.
    static func releaseReserveIfShort(root: String) -> String? {
        let path = reservePath(root: root)
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let free = FileIO.freeBytes(at: root)
        guard free >= 0, free < Int64(st.st_size) else { return nil }
        guard unlink(path) == 0 else { return nil }
        return "the filesystem of \(root) had \(StoreError.bytes(free)) free: released the reserve file "
            + "(\(StoreError.bytes(Int64(st.st_size)))) so the catalog, fsck and GC can run; "
            + "free space (`trove rm`, then `trove gc`), it is re-created once there is room"
    }

    /// Releases the reserve if the disk is short (see `releaseReserveIfShort`), else creates it
    /// (`options.reserveBytes`) when missing and the filesystem has room for it above the floor
    /// twice over. Best effort: a reserve that cannot be made is tried again later.
    func maintainReserve() {
        if let note = Store.releaseReserveIfShort(root: root) {
            state.withLock { $0.diskNote = note }
            return
        }
        let size = options.reserveBytes
        let path = Store.reservePath(root: root)
        guard size > 0, !FileIO.exists(path) else { return }
        let free = freeBytes
        guard free >= Int64(options.minFreeSpace) + 2 * Int64(size) else { return }
        let tmp = tmpDir + "/reserve.tmp"
        let fd = Glibc.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let ok = posix_fallocate(fd, 0, off_t(size)) == 0
        close(fd)
        guard ok, Glibc.rename(tmp, path) == 0 else {
            unlink(tmp)
            return
        }
        state.withLock { $0.diskNote = "created the reserve file \(path) (\(StoreError.bytes(Int64(size))))" }
    }

    /// What the last reserve check did (released or created the reserve file), once; nil if
    /// nothing happened since the last call.
    public func takeDiskNote() -> String? {
        state.withLock { s in
            defer { s.diskNote = nil }
            return s.diskNote
        }
    }
}
