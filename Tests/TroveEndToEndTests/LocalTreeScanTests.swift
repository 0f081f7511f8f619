import Foundation
import Testing
import TroveCore

@testable import TroveClient

/// `LocalTree.scan` lists the directories of each level on all cores; it must give what listing
/// each directory when the walk reaches it gives (`parallel: false`): the same files, entries and
/// skipped paths in the same order, and the same first error.
@Suite("local tree scan")
struct LocalTreeScanTests {
    /// Both scans of `root`: the tree, or the error's description.
    func both(_ root: String) -> (parallel: Result<LocalTree, ClientError>, oneThread: Result<LocalTree, ClientError>) {
        func scan(_ parallel: Bool) -> Result<LocalTree, ClientError> {
            do { return .success(try LocalTree.scan(root, parallel: parallel)) } catch { return .failure(error) }
        }
        return (scan(true), scan(false))
    }

    @Test func manyDirectoriesOnSeveralLevelsGiveTheOneThreadTree() throws {
        let dir = try TemporaryDirectory()
        // Levels of 1, 12 and 36 directories, names that sort around a directory ("a", "a-b",
        // "a/x"), empty directories at each level, symlinks, a FIFO (skipped).
        for p in 0..<12 {
            for q in 0..<3 {
                for f in 0..<(p + q) {
                    try dir.write("set/part-\(p)/sub-\(q)/f\(f).bin", TestInput.random.bytes(seed: UInt64(p * 100 + f), count: f * 10))
                }
            }
            try FileManager.default.createDirectory(atPath: dir.path + "/set/part-\(p)/empty", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: dir.path + "/set/part-\(p)/link", withDestinationPath: "sub-0/f0.bin")
        }
        try dir.write("set/a/x", [1])
        try dir.write("set/a-b", [2])
        try dir.write("set/a.c", [3])
        try FileManager.default.createDirectory(atPath: dir.path + "/set/zz-empty", withIntermediateDirectories: true)
        #expect(mkfifo(dir.path + "/set/part-3/fifo", 0o644) == 0)

        let (parallel, oneThread) = both(dir.path)
        let p = try parallel.get()
        let o = try oneThread.get()
        #expect(p.files == o.files)
        #expect(p.otherEntries == o.otherEntries)
        #expect(p.skipped == o.skipped)
        #expect(p.isSingleFile == o.isSingleFile)
        // What the walk should find: every file written (part p holds 3p + 3 files, plus 3 more),
        // a link and an empty directory per part and zz-empty, the FIFO skipped.
        #expect(p.files.count == (0..<12).reduce(0) { $0 + 3 * $1 + 3 } + 3)
        #expect(p.files.map(\.treePath) == p.files.map(\.treePath).sorted { ByteOrder.precedes($0, $1) })
        #expect(p.files.first?.treePath == "set/a-b")
        #expect(p.skipped == [dir.path + "/set/part-3/fifo"])
        #expect(p.otherEntries.count == 12 + 12 + 1)
    }

    @Test func theFirstFailureInWalkOrderIsTheOneReported() throws {
        let dir = try TemporaryDirectory()
        for p in 0..<6 { try dir.write("d/p\(p)/ok", [UInt8(p)]) }
        // A symlink with a non-UTF-8 target in d/p2, a file name that is not UTF-8 in d/p4: the
        // walk meets p2's first; with p2's fixed, p4's.
        let link = dir.path + "/d/p2/bad"
        let target: [UInt8] = [0xFF, 0xFE, 0]
        #expect(target.withUnsafeBufferPointer { symlink(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), link) } == 0)
        let badName: [UInt8] = Array((dir.path + "/d/p4/").utf8) + [0xC3, 0x28, 0]
        let fd = badName.withUnsafeBufferPointer {
            open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_CREAT | O_WRONLY, 0o644)
        }
        #expect(fd >= 0)
        close(fd)

        var (parallel, oneThread) = both(dir.path)
        #expect(throws: ClientError.self) { try parallel.get() }
        #expect("\(parallel)" == "\(oneThread)")
        #expect("\(parallel)".contains("symlink \(link) has an empty, too long or non-UTF-8 target"))

        unlink(link)
        (parallel, oneThread) = both(dir.path)
        #expect(throws: ClientError.self) { try parallel.get() }
        #expect("\(parallel)" == "\(oneThread)")
        #expect("\(parallel)".contains("a file name in \(dir.path)/d/p4 is not valid UTF-8"))
    }
}
