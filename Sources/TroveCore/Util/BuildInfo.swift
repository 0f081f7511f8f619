#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `trove --version` and `troved --version` print: the release, the protocol versions spoken
/// and which build this is.
public enum BuildInfo {
    /// The release of Trove (both executables share it).
    public static let version = "0.1.0"

    /// `debug` or `release`: how this binary was compiled.
    public static var configuration: String {
        #if DEBUG
            "debug"
        #else
            "release"
        #endif
    }

    /// The linker's build id of the running executable (`.note.gnu.build-id`, the hex `file`
    /// prints as `BuildID[sha1]=…`), which tells two builds of the same release apart; nil when the
    /// executable has none (or on platforms without ELF notes).
    public static var buildID: String? {
        #if os(Linux)
            return elfBuildID(path: "/proc/self/exe")
        #else
            return nil
        #endif
    }

    /// One line: `PROGRAM 0.1.0 (protocol 1, debug build 3f2a…)`.
    public static func describe(program: String, protocolVersions: ClosedRange<UInt8>) -> String {
        let proto =
            protocolVersions.lowerBound == protocolVersions.upperBound
            ? "protocol \(protocolVersions.lowerBound)"
            : "protocol \(protocolVersions.lowerBound)-\(protocolVersions.upperBound)"
        return "\(program) \(version) (\(proto), \(configuration) build \(buildID ?? "unknown"))"
    }

    /// The GNU build-id note (`NT_GNU_BUILD_ID`, owner "GNU") of a 64-bit little-endian ELF file,
    /// read from its `PT_NOTE` program headers; nil when there is none.
    static func elfBuildID(path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        func bytes(_ offset: Int, _ count: Int) -> [UInt8]? {
            guard count > 0, count <= 1 << 20 else { return nil }
            var b = [UInt8](repeating: 0, count: count)
            let n = b.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            return n == count ? b : nil
        }
        func int(_ b: [UInt8], _ at: Int, _ size: Int) -> Int {
            var v = 0
            for i in (0..<size).reversed() { v = v << 8 | Int(b[at + i]) }
            return v
        }
        // ELF64 (class 2), little-endian (data 1).
        guard let h = bytes(0, 64), h[0..<4] == [0x7F, 0x45, 0x4C, 0x46], h[4] == 2, h[5] == 1 else {
            return nil
        }
        let phoff = int(h, 32, 8)
        let phentsize = int(h, 54, 2)
        let phnum = int(h, 56, 2)
        guard phentsize >= 56, phnum < 256, let table = bytes(phoff, phentsize * phnum) else { return nil }
        for i in 0..<phnum {
            let ph = i * phentsize
            guard int(table, ph, 4) == 4 else { continue }  // PT_NOTE
            guard let notes = bytes(int(table, ph + 8, 8), int(table, ph + 32, 8)) else { continue }
            var at = 0
            while at + 12 <= notes.count {
                let nameSize = int(notes, at, 4)
                let descSize = int(notes, at + 4, 4)
                let type = int(notes, at + 8, 4)
                let nameAt = at + 12
                let descAt = nameAt + (nameSize + 3) & ~3
                let next = descAt + (descSize + 3) & ~3
                guard next <= notes.count else { break }
                if type == 3, nameSize == 4, notes[nameAt..<nameAt + 4] == [0x47, 0x4E, 0x55, 0] {
                    return notes[descAt..<descAt + descSize].map {
                        ($0 < 16 ? "0" : "") + String($0, radix: 16)
                    }
                    .joined()
                }
                at = next
            }
        }
        return nil
    }
}
