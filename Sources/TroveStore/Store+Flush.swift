import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// The group commit's flush (``GroupCommit``), in two stages: the leader writes one segment
/// holding every pending batch's new chunks; then, in the order of the writes, `fdatasync`, the
/// index transaction and the answers. A large segment's second stage runs while the next leader
/// writes the next segment behind it (into the same pack, after it, or into a new pack).
///
/// Nothing is acknowledged before its own segment and every earlier one are durable and indexed.
/// When a second stage fails while later segments are written already, those fail too (they may
/// have left out chunks the failed segment was storing; see `GroupCommit.Pipeline`) and the pack
/// stops being appended to: its unindexed tail is a torn or unacknowledged tail, which recovery
/// truncates or indexes at the next open (``Store/recoverPack(name:id:indexedSize:)``).
extension Store {
    /// A segment at least this large lets the next flush write while it is synced and indexed;
    /// smaller ones keep the leadership until done, so small batches group behind them.
    static let overlapBytes = 1 << 20

    /// What a flush's first stage did, for its second.
    struct WrittenSegment {
        /// The pipeline's generation when it was written.
        var generation: UInt64
        /// Writes begun, this one included (a later write makes it larger).
        var writeSeq: UInt64
        /// The pack written to (its size: the segment's end); nil when nothing was written.
        var pack: GroupCommit.Writer?
        var start = 0
        var entries: [PackEntry] = []
        var owner: [Digest: GroupCommit.Batch] = [:]
        /// The segment ends the pack (it reached the pack size, or goes to remote storage).
        var seal = false
    }

    /// Group-commit leader work for `batches` (see the type's comment).
    func flush(_ batches: [GroupCommit.Batch]) -> GroupCommit.Staged {
        func failAll(_ e: StoreError) { for b in batches { b.fail(e) } }
        if let f = state.withLock({ $0.failure }) {
            failAll(.readOnly(reason: f))
            return .none
        }
        let segment: WrittenSegment
        do {
            segment = try commit.writeStage.withLock { (slot) throws(StoreError) -> WrittenSegment in
                try writeSegment(batches, &slot)
            }
        } catch {
            if case .catalog = error { _ = fail(error) }
            failAll(error)
            return .none
        }
        let bytes = segment.pack.map { $0.size - segment.start } ?? 0
        return GroupCommit.Staged(overlap: bytes >= Self.overlapBytes && !packStorage.isRemote) {
            self.finishSegment(segment, batches)
        }
    }

    /// First stage: one segment holding the batches' chunks that are neither indexed nor being
    /// stored by an earlier flush, appended to the writer's pack (`slot`) or a new one.
    private func writeSegment(_ batches: [GroupCommit.Batch], _ slot: inout GroupCommit.Writer?)
        throws(StoreError) -> WrittenSegment
    {
        var seen = Set<Digest>()
        var records: [VerifiedChunk] = []
        var owner: [Digest: GroupCommit.Batch] = [:]
        for b in batches {
            for c in b.chunks where seen.insert(c.digest).inserted {
                records.append(c)
                owner[c.digest] = b
            }
        }
        // Chunks an earlier flush is storing (its second stage comes first), then chunks another
        // leader stored since the callers looked: in this order, as a flush indexes before it
        // leaves the in-flight set.
        // Counted whatever follows: a failing earlier flush must know this one looked.
        let (generation, writeSeq) = commit.pipeline.withLock { p in
            records.removeAll { p.inFlight.contains($0.digest) }
            p.writes += 1
            return (p.generation, p.writes)
        }
        var segment = WrittenSegment(generation: generation, writeSeq: writeSeq, owner: owner)
        let present = try presentSet(records.map(\.digest))
        records.removeAll { present.contains($0.digest) }
        guard !records.isEmpty else { return segment }
        var w: GroupCommit.Writer
        if let current = slot { w = current } else { w = try createPack() }
        let packSeal = try writeSeal(w.name)
        let end: Int
        do {
            (segment.entries, end) = try commit.segments.withLock { (s) throws(StoreError) in
                try s.append(records, fd: w.fd, path: w.path, start: w.size, seal: packSeal)
            }
        } catch {
            // Out of space while writing: cut the partial segment and append there next time.
            if case .noSpace = error, ftruncate(w.fd, off_t(w.size)) == 0 {
                slot = w
                throw error
            }
            slot = nil
            commit.retire(w.fd)
            throw fail(error)
        }
        segment.start = w.size
        w.size = end
        segment.seal = w.size >= options.packSize || packStorage.isRemote
        commit.hold(w.fd)
        if segment.seal {
            slot = nil
            commit.retire(w.fd)
        } else {
            slot = w
        }
        segment.pack = w
        commit.pipeline.withLock { p in p.inFlight.formUnion(segment.entries.map(\.digest)) }
        return segment
    }

    /// Second stage, after every earlier flush's: `fdatasync`, remote storage, the index, the
    /// answers. Failing, it fails later flushes already written (see the type's comment).
    private func finishSegment(_ segment: WrittenSegment, _ batches: [GroupCommit.Batch]) {
        func failAll(_ e: StoreError) { for b in batches { b.fail(e) } }
        let digests = segment.entries.map(\.digest)
        defer { if let w = segment.pack { commit.release(w.fd) } }
        let poison: StoreError? = commit.pipeline.withLock { p in
            guard p.generation != segment.generation else { return nil }
            p.inFlight.subtract(digests)
            return p.poison
        }
        if let poison { return failAll(poison) }
        guard let w = segment.pack else { return }
        do {
            let injected = state.withLock { s in
                defer { s.failNextSync = false }
                return s.failNextSync
            }
            do {
                if injected { throw StoreError.io(op: "fdatasync", path: w.path, errno: EIO) }
                try FileIO.fdatasync(w.fd, w.path)
            } catch let e as StoreError {
                throw fail(e)
            }
            // Remote pack storage: each group commit seals its pack and stores it there before
            // anything is indexed or acknowledged (an upload failure acknowledges nothing; the
            // next open's recovery stores and indexes the segment).
            if packStorage.isRemote { try packStorage.storeSealed(name: w.name, localPath: w.path) }
            try indexSegment(segment.entries, pack: w.id, size: w.size, seal: segment.seal, now: Clock.nowMillis())
        } catch {
            let e: StoreError = (error as? StoreError) ?? .catalog("\(error)")
            if case .catalog = e { _ = fail(e) }
            abandon(segment, digests, after: e)
            return failAll(e)
        }
        commit.pipeline.withLock { p in p.inFlight.subtract(digests) }
        for e in segment.entries { segment.owner[e.digest]?.addStored(1) }
    }

    /// After `segment`'s second stage failed with `e` (nothing of it acknowledged): with no later
    /// write, a local pack out of space is cut back to before the segment and appended to again;
    /// otherwise later flushes fail too and the pack they wrote to is appended to no more.
    private func abandon(_ segment: WrittenSegment, _ digests: [Digest], after e: StoreError) {
        guard let w = segment.pack else { return }
        commit.writeStage.withLock { slot in
            // No write is in progress while this lock is held.
            let later = commit.pipeline.withLock { p in
                p.inFlight.subtract(digests)
                guard p.writes != segment.writeSeq else { return false }
                p.generation += 1
                p.poison = e
                return true
            }
            let isWriter = slot?.id == w.id
            if !later, case .noSpace = e, !packStorage.isRemote, isWriter || slot == nil,
                ftruncate(w.fd, off_t(segment.start)) == 0
            {
                var cut = w
                cut.size = segment.start
                if !isWriter { commit.unretire(w.fd) }
                slot = cut
            } else if later || isWriter, let current = slot {
                // The pack later segments went to (this one's, or one a later flush began).
                slot = nil
                commit.retire(current.fd)
            }
        }
    }
}
