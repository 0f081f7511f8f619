#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Resolution of a listen host to its addresses, and the loopback test on each address.
enum LoopbackCheck {
    /// A resolved address: 4 bytes (IPv4) or 16 bytes (IPv6).
    typealias Address = [UInt8]

    /// The addresses `host` resolves to (no port, TCP); empty when it does not resolve.
    static func resolve(_ host: String) -> [Address] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var out: [Address] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            if let sa = ai.pointee.ai_addr {
                switch Int32(ai.pointee.ai_family) {
                case AF_INET:
                    sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                        withUnsafeBytes(of: sin.pointee.sin_addr) { out.append(Array($0)) }
                    }
                case AF_INET6:
                    sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                        withUnsafeBytes(of: sin6.pointee.sin6_addr) { out.append(Array($0)) }
                    }
                default: break
                }
            }
            cursor = ai.pointee.ai_next
        }
        return out
    }

    /// 127.0.0.0/8, ::1, or an IPv4-mapped 127.0.0.0/8.
    static func isLoopback(_ a: Address) -> Bool {
        switch a.count {
        case 4: return a[0] == 127
        case 16:
            if a[0..<15].allSatisfy({ $0 == 0 }) && a[15] == 1 { return true }
            let mapped = a[0..<10].allSatisfy { $0 == 0 } && a[10] == 0xFF && a[11] == 0xFF
            return mapped && a[12] == 127
        default: return false
        }
    }
}
