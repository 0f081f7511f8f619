import Foundation
import TroveCore
import TroveStore

/// A deterministic byte generator for tests (splitmix64).
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func bytes(_ n: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        var i = 0
        while i < n {
            var v = next()
            for _ in 0..<8 where i < n {
                out[i] = UInt8(truncatingIfNeeded: v)
                v >>= 8
                i += 1
            }
        }
        return out
    }
    /// Compressible bytes: words from a small alphabet.
    mutating func text(_ n: Int) -> [UInt8] {
        let words = ["tensor", "weight", "bias", "layer", "epoch", "churn", "model", " ", "\n", "0.125"]
        var out: [UInt8] = []
        out.reserveCapacity(n + 16)
        while out.count < n { out += Array(words[Int(next() % UInt64(words.count))].utf8) }
        return Array(out.prefix(n))
    }
}

/// A fresh temporary directory path (not created), removed by `cleanup`.
func tempStorePath(_ tag: String = "store") -> String {
    let base = FileManager.default.temporaryDirectory.path
    return base + "/trove-test-\(tag)-\(UUID().uuidString)"
}

func cleanup(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

/// A chunk input from raw bytes, compressed with zstd if that pays.
func chunkInput(_ raw: [UInt8], compress: Bool = true) -> ChunkInput {
    let d = SHA256.hash(raw)
    if compress {
        let (codec, stored) = ChunkCompressor(codec: .zstd).compress(raw)
        return ChunkInput(digest: d, codec: codec, rawLength: raw.count, bytes: stored)
    }
    return ChunkInput(digest: d, codec: .raw, rawLength: raw.count, bytes: raw)
}

/// Splits `content` into fixed-size chunks: the chunk inputs and the recipe.
func makeBlob(_ content: [UInt8], chunkSize: Int = 4096) -> (chunks: [ChunkInput], recipe: Recipe) {
    var chunks: [ChunkInput] = []
    var rc: [RecipeChunk] = []
    var i = 0
    while i < content.count {
        let piece = Array(content[i..<min(i + chunkSize, content.count)])
        let c = chunkInput(piece)
        chunks.append(c)
        rc.append(RecipeChunk(digest: c.digest, length: UInt32(piece.count)))
        i += chunkSize
    }
    return (chunks, Recipe(blobDigest: SHA256.hash(content), size: UInt64(content.count), chunks: rc))
}

/// Stores a single-file tree with `content` and returns the tree digest.
func storeFile(_ store: Store, path: String = "data.bin", _ content: [UInt8]) throws -> Digest {
    let (chunks, recipe) = makeBlob(content)
    _ = try store.putChunks(chunks)
    let tree = Tree(entries: [.file(path, blob: recipe.blobDigest, size: recipe.size)])
    guard case .committed(let t) = try store.commit(recipes: [recipe], tree: tree) else {
        throw StoreError.invalidCommit("unexpected missing chunks")
    }
    return t
}

/// A whole recipe as an upload part (sent under the digest of the blob it rebuilds).
func wholeObject(_ recipe: Recipe) -> ObjectPartInput {
    let bytes = recipe.canonicalBytes
    return ObjectPartInput(
        kind: .recipe, digest: recipe.blobDigest, offset: 0, totalLength: UInt64(bytes.count), bytes: bytes)
}

/// A whole tree as an upload part.
func wholeObject(_ tree: Tree) -> ObjectPartInput {
    let bytes = tree.canonicalBytes
    return ObjectPartInput(
        kind: .tree, digest: SHA256.hash(bytes), offset: 0, totalLength: UInt64(bytes.count), bytes: bytes)
}
