import Foundation
import NIOCore
import TroveCore
import TroveProtocol
import TroveS3
import TroveStore

// One libFuzzer entry point for every decoder of hostile bytes. The first input byte picks the
// target (its value modulo the number of targets), the rest is the target's input:
//
//   0  frame stream: FrameDecoder (preamble first) fed in pieces, every frame's message decoded;
//      FrameAssembler (the connections' fast path) fed the same pieces must give the same
//   1  frame stream without preamble, cap raised to the post-authentication maximum
//   2  one message payload: next byte = frame type, rest = payload
//   3  Recipe(canonical:)   (TroveCore, owned by the store engineer)
//   4  Tree(canonical:)     (TroveCore, owned by the store engineer)
//   5  container boundary planner (ZIP/ZIP64, safetensors, tar): next byte picks the format set
//   6  Ref(parsing:) on the input as UTF-8 (NAME:TAG, NAME:ALIAS@TIME, NAME@sha256:HEX)
//   7  S3 aws-chunked body decoder: next byte = piece size (bits 0-5) and signed (bit 7)
//   8  S3 request documents: next byte even = CompleteMultipartUpload, odd = DeleteObjects
//   9  S3 SigV4: a request head (URI line, then `Name: value` lines) authenticated
//  10  git-lfs API: the input as a batch request body and as a path under /_lfs/
//  11  web view: first line a URI under /_ui/ (path and query decoded), second an Authorization header
//  12  encryption at rest: trove.toml, sealed objects and records, pack headers
//  13  pack scanners (PackFuzzing): the input as a pack file, next byte odd = encrypted (versions 1-4)
//
// To add a decoder: add a case below, a seed in `writeSeeds`, and a line in docs/FUZZING.md.
//
// Oracles, beyond "never crashes, never allocates hugely" (ASan, -malloc_limit_mb):
// - a decoded message re-encodes to exactly the bytes it came from (one encoding per value);
// - the fast frame path yields the same frames and error as the reference decoder;
// - the pack scanners keep records inside the file, and agree on a pack the forward scan accepts;
// - a decoded canonical object re-encodes to exactly its input;
// - an aws-chunked body decodes the same whether fed whole or in small pieces;
// - DeleteObjects never yields more than 1000 keys; a request is authenticated only as `fuzz`;
// - a git-lfs batch never yields more than 1000 objects, each oid 64 lowercase hex digits;
// - the web view signs in only the `fuzz` token, and only with its secret.

private let targetCount: UInt8 = 14

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let input = UnsafeBufferPointer(rebasing: bytes[1...])
    switch bytes[0] % targetCount {
    case 0: fuzzStream(input, preamble: true)
    case 1: fuzzStream(input, preamble: false)
    case 2: fuzzMessage(input)
    case 3: fuzzRecipe(input)
    case 4: fuzzTree(input)
    case 5: fuzzContainers(input)
    case 6: fuzzRef(input)
    case 7: fuzzAWSChunked(input)
    case 8: fuzzS3Documents(input)
    case 9: fuzzSigV4(input)
    case 10: fuzzLFS(input)
    case 11: fuzzWebView(input)
    case 12: fuzzAtRest(input)
    default: fuzzPack(input)
    }
    return 0
}

/// Feeds the stream to a FrameDecoder in pieces whose sizes come from the first byte, decodes
/// every frame's message and checks the encoding round trip; feeds the same pieces to a
/// FrameAssembler, which must yield the same frames and the same error.
private func fuzzStream(_ input: UnsafeBufferPointer<UInt8>, preamble: Bool) {
    guard let first = input.first else { return }
    let step = Int(first % 64) + 1
    let maxPayload = preamble ? ProtocolLimits.preAuthMaxPayload : ProtocolLimits.absoluteMaxPayload
    var decoder = FrameDecoder(state: FrameCodecState(maxPayload: maxPayload), expectPreamble: preamble)
    // Frame buffers from a pool, with every other frame copied and let go (its buffer may be
    // reused at once) and the rest held (theirs must never be reused while held).
    let pool = ByteBufferPool(maxBuffers: 4, maxBytes: 64 << 20, minimumCapacity: 0)
    var assembler = FrameAssembler(
        state: FrameCodecState(maxPayload: maxPayload), expectPreamble: preamble, buffers: pool)
    var buffer = ByteBuffer()
    var slow: [Frame] = []
    var fast: [Frame] = []
    var slowError: ProtocolError?
    var fastError: ProtocolError?
    var offset = 1
    while offset < input.count {
        let end = min(input.count, offset + step)
        let piece = UnsafeBufferPointer(rebasing: input[offset..<end])
        offset = end
        if slowError == nil {
            buffer.writeBytes(piece)
            do throws(ProtocolError) {
                while let frame = try decoder.next(&buffer) {
                    checkRoundTrip(frame.type, frame.payload)
                    slow.append(frame)
                }
            } catch {
                slowError = error  // the connection would be closed
            }
        }
        if fastError == nil {
            do throws(ProtocolError) {
                try assembler.feed(ByteBuffer(bytes: piece)) { frame in
                    var f = frame
                    if fast.count % 2 == 1 {
                        f.payload = ByteBuffer(bytes: Array(frame.payload.readableBytesView))
                    }
                    fast.append(f)
                }
            } catch {
                fastError = error
            }
        }
    }
    if fast != slow || fastError != slowError {
        fatalError(
            "FrameAssembler: \(fast.count) frames, \(String(describing: fastError)); FrameDecoder: \(slow.count) frames, \(String(describing: slowError))"
        )
    }
}

private func fuzzMessage(_ input: UnsafeBufferPointer<UInt8>) {
    guard let t = input.first, let type = MessageType(rawValue: t) else { return }
    checkRoundTrip(type, ByteBuffer(bytes: UnsafeBufferPointer(rebasing: input[1...])))
}

private func checkRoundTrip(_ type: MessageType, _ payload: ByteBuffer) {
    guard let message = try? Message.decode(type: type, payload: payload) else { return }
    var again = ByteBuffer()
    message.encode(into: &again)
    if again != payload {
        fatalError("\(type) decoded from \(Array(payload.readableBytesView)) re-encodes differently")
    }
}

/// The boundary planner on hostile containers: it must not trap or read outside the input, and a
/// plan's cuts must be strictly increasing and inside the input.
private func fuzzContainers(_ input: UnsafeBufferPointer<UInt8>) {
    guard let selector = input.first else { return }
    let all = ContainerFormat.allCases
    let formats = Set(all.enumerated().filter { selector & (1 << $0.offset) != 0 }.map(\.element))
    let bytes = Array(input[1...])
    let policy = formats.isEmpty ? FormatPolicy.auto : FormatPolicy(formats: formats)
    guard let plan = try? BoundaryPlanner.plan(MemoryRandomAccess(bytes), policy: policy) else {
        fatalError("the planner threw on an in-memory input (only read errors may throw)")
    }
    var previous: UInt64 = 0
    for cut in plan.cuts {
        if cut <= previous || cut >= UInt64(bytes.count) {
            fatalError("cut \(cut) out of order or outside \(bytes.count)")
        }
        previous = cut
    }
}

/// A reference that parses prints as text that parses to the same reference.
private func fuzzRef(_ input: UnsafeBufferPointer<UInt8>) {
    let text = String(decoding: input, as: UTF8.self)
    guard let ref = try? Ref(parsing: text) else { return }
    guard let again = try? Ref(parsing: ref.description), again == ref else {
        fatalError("Ref \(text) prints as \(ref.description), which does not parse back to it")
    }
}

/// An aws-chunked body decodes to the same data and trailers whether it arrives whole or in
/// pieces of 1–64 bytes (the listener gets it in arbitrary reads), and is refused in both or neither.
private func fuzzAWSChunked(_ input: UnsafeBufferPointer<UInt8>) {
    guard let selector = input.first else { return }
    let body = Array(input[1...])
    let signed = selector & 0x80 != 0
    let whole = try? S3Decoders.awsChunked(body, pieceSize: max(1, body.count), signed: signed)
    let pieces = try? S3Decoders.awsChunked(body, pieceSize: Int(selector & 0x3F) + 1, signed: signed)
    if whole?.data != pieces?.data || whole?.trailers != pieces?.trailers {
        fatalError("aws-chunked decoding depends on how the body is split")
    }
}

private func fuzzS3Documents(_ input: UnsafeBufferPointer<UInt8>) {
    guard let selector = input.first else { return }
    let body = Array(input[1...])
    if selector % 2 == 0 {
        _ = try? S3Decoders.completeMultipartParts(body)
    } else if let d = try? S3Decoders.deleteObjects(body), d.keys.count > 1000 {
        fatalError("DeleteObjects accepted \(d.keys.count) keys")
    }
}

private func fuzzLFS(_ input: UnsafeBufferPointer<UInt8>) {
    let bytes = Array(input)
    let (oids, _) = S3Decoders.lfs(body: bytes, path: String(decoding: bytes, as: UTF8.self))
    let hex = Set("0123456789abcdef".utf8)
    if oids.count > 1000 || oids.contains(where: { $0.utf8.count != 64 || !$0.utf8.allSatisfy(hex.contains) })
    {
        fatalError("a git-lfs batch accepted \(oids.count) objects or a malformed oid")
    }
}

/// The input as a web view request: the first line is the URI, the second the Authorization header.
private func fuzzWebView(_ input: UnsafeBufferPointer<UInt8>) {
    let lines = String(decoding: input, as: UTF8.self).split(
        separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    guard let uri = lines.first else { return }
    let authorization = lines.count > 1 ? String(lines[1]) : nil
    let decoded = S3Decoders.webView(uri: String(uri), authorization: authorization)
    guard decoded.viewer != nil else { return }
    // Signed in: the header must carry exactly fuzz's name and secret.
    let encoded = String(authorization?.dropFirst(6) ?? "").trimmingCharacters(in: .whitespaces)
    let text = Data(base64Encoded: encoded).map { String(decoding: $0, as: UTF8.self) }
    if decoded.viewer != "fuzz" || text != "fuzz:\(S3Decoders.fuzzWebSecret)" {
        fatalError("the web view signed in \(decoded.viewer ?? "") with \(text ?? "undecodable credentials")")
    }
}

/// The input as a request head: the first line is the URI, the others `Name: value` headers.
private func fuzzSigV4(_ input: UnsafeBufferPointer<UInt8>) {
    let lines = String(decoding: input, as: UTF8.self).split(
        separator: "\n", omittingEmptySubsequences: false)
    guard let uri = lines.first else { return }
    var headers: [(String, String)] = []
    for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers.append(
            (
                String(line[..<colon]),
                String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            ))
    }
    if let who = try? S3Decoders.authenticate(uri: String(uri), headers: headers), who != "fuzz" {
        fatalError("authenticated as \(who ?? "nobody"), not the only credential")
    }
}

/// Encryption at rest: next byte 0 → `trove.toml` (`StoreConfig.parse`; accepted text re-renders
/// to a config that parses back equal), 1 → a sealed object, 2 → a sealed record, 3 → a pack
/// header. Sealed bytes that open must be exactly what sealing their plaintext under their nonce
/// gives (anything else would be a forgery).
private func fuzzAtRest(_ input: UnsafeBufferPointer<UInt8>) {
    guard let selector = input.first else { return }
    let bytes = Array(input.dropFirst())
    let digest = SHA256.hash(Array("fuzz".utf8))
    switch selector % 4 {
    case 0:
        guard let c = try? StoreConfig.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz") else {
            return
        }
        if (try? StoreConfig.parse(c.tomlText, path: "fuzz")) != c {
            fatalError("trove.toml does not round-trip")
        }
    case 1:
        guard let plain = AtRestFuzzing.openObject(bytes, digest: digest) else { return }
        if AtRestFuzzing.sealObject(plain, digest: digest, nonce: Array(bytes[8..<20])) != bytes {
            fatalError("a sealed object opened that its key did not seal")
        }
    case 2:
        guard bytes.count >= 28,
            let plain = AtRestFuzzing.openRecord(
                bytes, digest: digest, rawLength: bytes.count - 28, offset: 16)
        else { return }
        if AtRestFuzzing.sealRecord(plain, digest: digest, offset: 16, nonce: Array(bytes[0..<12])) != bytes {
            fatalError("a sealed record opened that its key did not seal")
        }
    default:
        _ = AtRestFuzzing.packHeader(bytes)
    }
}

/// The pack scanners on the input as a pack file (next byte odd: under the fuzz key).
private func fuzzPack(_ input: UnsafeBufferPointer<UInt8>) {
    guard let selector = input.first else { return }
    if let broken = PackFuzzing.check(Array(input.dropFirst()), encrypted: selector % 2 == 1) {
        fatalError("pack scanner: \(broken)")
    }
}

private func fuzzRecipe(_ input: UnsafeBufferPointer<UInt8>) {
    let bytes = Array(input)
    guard let recipe = try? Recipe(canonical: bytes) else { return }
    if recipe.canonicalBytes != bytes { fatalError("Recipe(canonical:) accepted non-canonical bytes") }
}

private func fuzzTree(_ input: UnsafeBufferPointer<UInt8>) {
    let bytes = Array(input)
    guard let tree = try? Tree(canonical: bytes) else { return }
    if tree.canonicalBytes != bytes { fatalError("Tree(canonical:) accepted non-canonical bytes") }
}

/// With `TROVE_FUZZ_SEEDS=DIR` in the environment, writes a seed corpus (valid inputs for every
/// target) to DIR and exits; libFuzzer mutates from there.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    if let dir = ProcessInfo.processInfo.environment["TROVE_FUZZ_SEEDS"] {
        writeSeeds(to: dir)
        exit(0)
    }
    return 0
}

private func writeSeeds(to dir: String) {
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var n = 0
    func seed(_ target: UInt8, _ bytes: [UInt8]) {
        n += 1
        let url = URL(fileURLWithPath: dir).appendingPathComponent("seed-\(target)-\(n)")
        try? Data([target] + bytes).write(to: url)
    }
    var stream = Preamble.current.encoded
    for (i, m) in Message.examples.enumerated() {
        var frame = ByteBuffer()
        Envelope(m, requestID: UInt32(i + 1)).write(into: &frame)
        var p = ByteBuffer()
        m.encode(into: &p)
        seed(2, [m.type.rawValue] + Array(p.readableBytesView))
        seed(1, [UInt8(i % 64)] + Array(frame.readableBytesView))
        seed(
            0,
            [UInt8(i % 64)] + Array(Preamble.current.encoded.readableBytesView)
                + Array(frame.readableBytesView))
        if frame.readableBytes + stream.readableBytes < 4096 { stream.writeBuffer(&frame) }
    }
    seed(0, [7] + Array(stream.readableBytesView))
    // Containers: a minimal safetensors file and a one-member ustar archive (selector 0 = auto).
    let header = Array(#"{"t":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#.utf8)
    var st = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
    st += [1, 2, 3, 4]
    seed(5, [0] + st)
    var tar = [UInt8](repeating: 0, count: 512)
    for (i, b) in Array("a.txt".utf8).enumerated() { tar[i] = b }
    for (i, b) in Array("0000644\u{0}0000000\u{0}0000000\u{0}00000000004\u{0}00000000000\u{0}".utf8)
        .enumerated()
    {
        tar[100 + i] = b
    }
    for (i, b) in Array("ustar\u{0}00".utf8).enumerated() { tar[257 + i] = b }
    for i in 148..<156 { tar[i] = 0x20 }
    let sum = tar.reduce(0) { $0 + Int($1) }
    for (i, b) in Array(String(format: "%06o\u{0} ", sum).utf8).enumerated() { tar[148 + i] = b }
    tar += Array("data".utf8) + [UInt8](repeating: 0, count: 508 + 1024)
    seed(5, [0] + tar)
    let chunk = RecipeChunk(digest: SHA256.hash(Array("c".utf8)), length: 3)
    seed(
        3,
        Recipe(blobDigest: SHA256.hash(Array("blob".utf8)), size: 6, chunks: [chunk, chunk]).canonicalBytes)
    seed(3, Recipe(blobDigest: SHA256.hash([UInt8]()), size: 0, chunks: []).canonicalBytes)
    let tree = Tree(entries: [
        .directory("d"), .file("d/a.bin", blob: SHA256.hash(Array("a".utf8)), size: 1),
        .symlink("d/link", target: "a.bin"),
    ])
    seed(4, tree.canonicalBytes)
    for ref in ["models/churn:prod@2026-10-15", "m:prod@2026-10-15T16:30:00.125+02:00", "m:1.4.0"] {
        seed(6, Array(ref.utf8))
    }
    // S3: aws-chunked bodies (unsigned and signed, with trailers), request documents, signed heads.
    let payload = Array("hello, aws-chunked world".utf8)
    seed(7, [5] + S3Decoders.encodeAWSChunked(payload, chunkSize: 7, signed: false))
    seed(7, [0x83] + S3Decoders.encodeAWSChunked(payload, chunkSize: 5, signed: true))
    seed(
        7,
        [2]
            + S3Decoders.encodeAWSChunked(
                payload, chunkSize: 64, signed: false, trailer: "x-amz-checksum-crc32:NhCmhg=="))
    seed(
        7,
        [0x81]
            + S3Decoders.encodeAWSChunked(
                payload, chunkSize: 9, signed: true, trailer: "x-amz-checksum-crc32:NhCmhg=="))
    let complete =
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"0cc175b9c0f1b6a831c399e269772661\"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&quot;92eb5ffee6ae2fec3ad71c777531578f&quot;</ETag></Part></CompleteMultipartUpload>"
    seed(8, [0] + Array(complete.utf8))
    let delete =
        "<Delete><Quiet>true</Quiet><Object><Key>a/b&amp;c.txt</Key></Object><Object><Key>&#x41;</Key></Object></Delete>"
    seed(8, [1] + Array(delete.utf8))
    for uri in ["/bucket/key%20with%20space.txt?versionId=1", "/bucket?list-type=2&prefix=a%2Fb&max-keys=10"]
    {
        if let headers = try? S3Decoders.signedHeaders(uri: uri) {
            seed(9, Array(([uri] + headers.map { "\($0.0): \($0.1)" }).joined(separator: "\n").utf8))
        }
    }
    let presigned =
        "/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=fuzz%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature="
        + String(repeating: "0", count: 64)
    seed(9, Array((presigned + "\nhost: 127.0.0.1:9000").utf8))
    let batch =
        #"{"operation":"upload","transfers":["basic"],"objects":[{"oid":"\#(String(repeating: "ab", count: 32))","size":10}],"hash_algo":"sha256"}"#
    seed(10, Array(batch.utf8))
    seed(10, Array("models/objects/batch".utf8))
    let basic = "Basic " + Data("fuzz:\(S3Decoders.fuzzWebSecret)".utf8).base64EncodedString()
    seed(11, Array("/_ui/version?name=models%2Fm&version=1&where=auc%3E%3D0.9+task%3Dchurn\n\(basic)".utf8))
    seed(11, Array("/_ui/alias?name=m&alias=prod&at=2026-10-15T14%3A30Z\nBasic Zm96ejp3cm9uZw==".utf8))
    // Encryption at rest: a trove.toml, a sealed object and record, an encrypted pack header.
    var config = StoreConfig(storeID: "00000000-0000-4000-8000-000000000000", created: 1)
    config.encryptionKeyID = "0123456789abcdef"
    seed(12, [0] + Array(config.tomlText.utf8))
    let fuzzDigest = SHA256.hash(Array("fuzz".utf8))
    let nonce = [UInt8](repeating: 7, count: 12)
    seed(12, [1] + AtRestFuzzing.sealObject(Array("TOBJ object".utf8), digest: fuzzDigest, nonce: nonce))
    seed(
        12,
        [2]
            + AtRestFuzzing.sealRecord(
                Array("record bytes".utf8), digest: fuzzDigest, offset: 16, nonce: nonce))
    seed(12, [3] + Array("TRVPACK\u{0}".utf8) + [0, 0, 0, 2, 1, 2, 3, 4])
    // Pack files of every version (1, 3 plaintext; 2, 4 encrypted under the fuzz key).
    for version in 1...4 { seed(13, [UInt8(version % 2 == 0 ? 1 : 0)] + PackFuzzing.pack(version: version)) }
    print("wrote \(n) seeds to \(dir)")
}
