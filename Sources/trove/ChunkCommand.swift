import ArgumentParser
import Foundation
import TroveCore

/// `trove chunk FILE...`: shows how Trove would split files into chunks, and how much later files
/// would deduplicate against earlier ones. Reads files only; needs no store or server.
struct ChunkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chunk",
        abstract: "Split files into content-defined chunks (FastCDC 2020) and print their SHA-256 digests.",
        discussion: """
            Default output, per file: one line per chunk, OFFSET<TAB>LENGTH<TAB>SHA256HEX, then \
            FILE<TAB>sha256:<blob digest><TAB><N> chunks (the blob digest is what sha256sum prints), \
            followed by <TAB>zip, <TAB>safetensors or <TAB>tar when the file's container structure forced \
            chunk boundaries (--formats auto, the default; --formats none is plain FastCDC; a list such as \
            --formats zip,tar enables only those). \
            --summary prints only the per-file line. With two or more files a final line \
            "shared: N of M bytes (P%)" says how many bytes of the later files are covered by chunks \
            already seen in earlier files (P has one decimal). --json prints one JSON document instead.
            Sizes accept K, M, G suffixes (binary: 16K = 16KiB = 16384). Exit status: 0 on success, \
            2 for bad parameters, 1 if a file cannot be read.
            """
    )

    @Argument(help: "Files to chunk.")
    var files: [String] = []

    @Option(help: "Minimum chunk size (64 ... 1M).")
    var min: String = "16K"

    @Option(help: "Average chunk size (256 ... 4M).")
    var avg: String = "64K"

    @Option(help: "Maximum chunk size (1K ... 16M).")
    var max: String = "256K"

    @Option(help: "Normalization level 0-3 (higher: chunk sizes closer to the average).")
    var normalization: String = "1"

    @Option(
        help: "Containers whose structure forces chunk boundaries: auto, none, or a list (zip,tar,...).")
    var formats: String = "auto"

    @Flag(help: "Print only the per-file summary line (and the shared line).")
    var summary = false

    @Flag(help: "Print one JSON document with the same information.")
    var json = false

    func run() throws {
        let parameters = try validatedParameters()
        let policy: FormatPolicy
        do { policy = try FormatPolicy(parsing: formats) } catch { Self.fail("--formats: \(error)", code: 2) }
        let threads = Swift.min(4, Swift.max(1, ProcessInfo.processInfo.activeProcessorCount))
        var report = ChunkReport(parameters: parameters, formats: policy)
        let out = OutputBuffer()
        for path in files {
            let result: IngestResult
            do {
                result = try Ingest.file(at: path, parameters: parameters, threads: threads, formats: policy)
            } catch {
                out.flush()
                Self.fail("\(error)", code: 1)
            }
            report.add(path: path, result: result)
            if !json {
                if !summary {
                    for c in result.chunks { out.append("\(c.offset)\t\(c.length)\t\(c.digest.hex)\n") }
                }
                let format = result.format.map { "\t\($0.rawValue)" } ?? ""
                out.append("\(path)\t\(result.blobDigest.prefixed)\t\(result.chunks.count) chunks\(format)\n")
                out.flush()
            }
        }
        if json {
            out.append(try report.json(includeChunks: !summary))
            out.append("\n")
        } else if files.count >= 2 {
            out.append(
                "shared: \(report.sharedBytes) of \(report.laterBytes) bytes (\(report.sharedPercent)%)\n")
        }
        out.flush()
    }

    /// Parses and checks the parameters; exits 2 with a message saying what is allowed.
    private func validatedParameters() throws -> ChunkerParameters {
        guard !files.isEmpty else {
            Self.fail("no FILE given; usage: trove chunk FILE... [options]", code: 2)
        }
        func size(_ text: String, _ name: String) -> Int {
            do { return try ByteSize.parse(text) } catch { Self.fail("--\(name): \(error)", code: 2) }
        }
        let minSize = size(min, "min")
        let avgSize = size(avg, "avg")
        let maxSize = size(max, "max")
        guard let level = Int(normalization) else {
            Self.fail("--normalization: '\(normalization)' is not allowed: it must be 0, 1, 2 or 3", code: 2)
        }
        let p = ChunkerParameters(min: minSize, avg: avgSize, max: maxSize, normalization: level)
        do { try p.validate() } catch { Self.fail("\(error)", code: 2) }
        return p
    }

    private static func fail(_ message: String, code: Int32) -> Never {
        Output.flush()
        Output.err("trove chunk: \(message)\n")
        Foundation.exit(code)
    }
}

/// What `trove chunk` found, file by file, and the cross-file sharing.
struct ChunkReport {
    let parameters: ChunkerParameters
    let formats: FormatPolicy
    private(set) var files: [(path: String, result: IngestResult)] = []
    private var seen = Set<Digest>()
    /// Bytes of files after the first covered by chunks seen in earlier files.
    private(set) var sharedBytes: UInt64 = 0
    /// Total bytes of files after the first.
    private(set) var laterBytes: UInt64 = 0

    init(parameters: ChunkerParameters, formats: FormatPolicy) {
        self.parameters = parameters
        self.formats = formats
    }

    mutating func add(path: String, result: IngestResult) {
        if !files.isEmpty {
            laterBytes += result.size
            for c in result.chunks where seen.contains(c.digest) { sharedBytes += UInt64(c.length) }
        }
        for c in result.chunks { seen.insert(c.digest) }
        files.append((path, result))
    }

    /// `sharedBytes / laterBytes` as a percentage with one decimal, rounded half up ("0.0" if none).
    var sharedPercent: String {
        guard laterBytes > 0 else { return "0.0" }
        let tenths = (sharedBytes * 1000 + laterBytes / 2) / laterBytes
        return "\(tenths / 10).\(tenths % 10)"
    }

    func json(includeChunks: Bool) throws -> String {
        struct ChunkJSON: Encodable {
            let offset: UInt64
            let length: Int
            let sha256: String
        }
        struct FileJSON: Encodable {
            let path: String
            let size: UInt64
            let blob: String
            let chunkCount: Int
            let format: String?
            let chunks: [ChunkJSON]?
        }
        struct SharedJSON: Encodable {
            let bytes: UInt64
            let of: UInt64
            let percent: Double
        }
        struct ParametersJSON: Encodable {
            let min, avg, max, normalization: Int
        }
        struct Document: Encodable {
            let parameters: ParametersJSON
            let formats: String
            let files: [FileJSON]
            let shared: SharedJSON?
        }
        let doc = Document(
            parameters: ParametersJSON(
                min: parameters.min, avg: parameters.avg, max: parameters.max,
                normalization: parameters.normalization),
            formats: formats.description,
            files: files.map { f in
                FileJSON(
                    path: f.path, size: f.result.size, blob: f.result.blobDigest.prefixed,
                    chunkCount: f.result.chunks.count, format: f.result.format?.rawValue,
                    chunks: includeChunks
                        ? f.result.chunks.map {
                            ChunkJSON(offset: $0.offset, length: $0.length, sha256: $0.digest.hex)
                        }
                        : nil)
            },
            shared: files.count >= 2
                ? SharedJSON(bytes: sharedBytes, of: laterBytes, percent: Double(sharedPercent) ?? 0) : nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(doc), as: UTF8.self)
    }
}

/// Collects output and writes it to stdout in large blocks.
final class OutputBuffer {
    private var bytes: [UInt8] = []

    func append(_ s: String) {
        bytes.append(contentsOf: s.utf8)
        if bytes.count >= 1 << 16 { flush() }
    }

    func flush() {
        guard !bytes.isEmpty else { return }
        Output.out(bytes: bytes)
        bytes.removeAll(keepingCapacity: true)
    }
}
