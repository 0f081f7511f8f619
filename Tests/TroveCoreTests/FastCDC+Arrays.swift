import TroveCore

extension FastCDC {
    /// ``lengths(of:)`` of an array's bytes, the pointer used only inside `withUnsafeBytes`.
    func lengths(of bytes: [UInt8]) -> [Int] {
        bytes.withUnsafeBytes { lengths(of: $0) }
    }
}
