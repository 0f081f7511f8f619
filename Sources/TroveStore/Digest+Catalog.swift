import Foundation
import TroveCore

extension Digest {
    /// The 32 raw bytes as `Data` (the catalog's BLOB form).
    var data: Data {
        var d = Data(count: 32)
        d.withUnsafeMutableBytes { write(to: $0.baseAddress!) }
        return d
    }

    /// A digest from a catalog BLOB; `nil` if it is not 32 bytes.
    init?(data: Data) {
        guard data.count == 32 else { return nil }
        self = data.withUnsafeBytes { Digest(pointer: $0.baseAddress!) }
    }
}
