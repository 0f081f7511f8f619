import Foundation
import TroveCore

/// CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320) for `x-amz-checksum-crc32`;
/// slicing-by-8 like `CRC32C`.
enum CRC32 {
    static let flat: [UInt32] = {
        var t = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
            t[0][i] = c
        }
        for i in 0..<256 {
            for k in 1..<8 { t[k][i] = (t[k - 1][i] >> 8) ^ t[0][Int(t[k - 1][i] & 0xFF)] }
        }
        return t.flatMap { $0 }
    }()

    static func update(_ crc: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        var c = ~crc
        var n = buffer.count
        guard n > 0, var p = buffer.baseAddress else { return crc }
        flat.withUnsafeBufferPointer { tp in
            let t = tp.baseAddress!
            while n >= 8 {
                let v = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) ^ UInt64(c)
                c =
                    t[7 * 256 + Int(v & 0xFF)] ^ t[6 * 256 + Int((v >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((v >> 16) & 0xFF)] ^ t[4 * 256 + Int((v >> 24) & 0xFF)]
                    ^ t[3 * 256 + Int((v >> 32) & 0xFF)] ^ t[2 * 256 + Int((v >> 40) & 0xFF)]
                    ^ t[1 * 256 + Int((v >> 48) & 0xFF)] ^ t[Int(v >> 56)]
                p += 8
                n -= 8
            }
            while n > 0 {
                c = t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (c >> 8)
                p += 1
                n -= 1
            }
        }
        return ~c
    }
}

/// CRC-64/NVME (reflected polynomial 0x9A6C9329AC4BC9B5) for `x-amz-checksum-crc64nvme`.
enum CRC64NVME {
    static let table: [UInt64] = (0..<256).map { i in
        var c = UInt64(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x9A6C_9329_AC4B_C9B5 : c >> 1 }
        return c
    }

    static func update(_ crc: UInt64, _ buffer: UnsafeRawBufferPointer) -> UInt64 {
        var c = ~crc
        table.withUnsafeBufferPointer { t in
            for b in buffer { c = t[Int((c ^ UInt64(b)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }
}

/// One `x-amz-checksum-*` algorithm, computed while a body streams in.
final class PayloadChecksum {
    enum Algorithm: String, CaseIterable {
        case crc32, crc32c, crc64nvme, sha1, sha256
        var header: String { "x-amz-checksum-\(rawValue)" }
    }

    let algorithm: Algorithm
    private var crc32: UInt32 = 0
    private var crc64: UInt64 = 0
    private var sha1: MessageDigest?
    private var sha256: SHA256?

    init(_ algorithm: Algorithm) {
        self.algorithm = algorithm
        if algorithm == .sha1 { sha1 = MessageDigest(.sha1) }
        if algorithm == .sha256 { sha256 = SHA256() }
    }

    func update(_ b: UnsafeRawBufferPointer) {
        switch algorithm {
        case .crc32: crc32 = CRC32.update(crc32, b)
        case .crc32c: crc32 = CRC32C.update(crc32, b)
        case .crc64nvme: crc64 = CRC64NVME.update(crc64, b)
        case .sha1: sha1!.update(b)
        case .sha256: sha256!.update(b)
        }
    }

    /// The base64 value S3 headers carry.
    func finalize() -> String {
        let bytes: [UInt8]
        switch algorithm {
        case .crc32, .crc32c: bytes = withUnsafeBytes(of: crc32.bigEndian) { Array($0) }
        case .crc64nvme: bytes = withUnsafeBytes(of: crc64.bigEndian) { Array($0) }
        case .sha1: bytes = sha1!.finalize()
        case .sha256: bytes = sha256!.finalize().bytes
        }
        return Data(bytes).base64EncodedString()
    }
}
