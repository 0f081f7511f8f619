import Foundation
import TroveCore

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
