import TroveCore
import TroveProtocol

/// A token as the server knows it: its name, the SHA-256 of its secret (the secret itself is never
/// stored), the scope it grants and the names it may touch.
public struct TokenSpec: Sendable, Equatable {
    /// The token's name, sent in clear at AUTH and recorded as the creator of versions.
    public var name: String
    /// SHA-256 of the secret; also the HMAC key of the challenge–response.
    public var key: Digest
    /// The highest scope granted (`admin` ⊇ `write` ⊇ `read`).
    public var scope: AccessScope
    /// Name prefixes this token is limited to; empty means every name.
    public var prefixes: [String]

    public init(name: String, key: Digest, scope: AccessScope, prefixes: [String] = []) {
        self.name = name
        self.key = key
        self.scope = scope
        self.prefixes = prefixes
    }
}

/// What a session may do once authenticated (or on open loopback access).
public struct Grant: Sendable, Equatable {
    /// Token name, or nil for open loopback access.
    public var tokenName: String?
    public var scope: AccessScope
    public var prefixes: [String]

    /// Open access: loopback with no tokens configured.
    public static let open = Grant(tokenName: nil, scope: .admin, prefixes: [])

    /// The creator recorded on versions and alias moves.
    public var actor: String { tokenName ?? "anonymous" }

    /// Whether this grant covers `needed`.
    public func allows(_ needed: AccessScope) -> Bool { scope >= needed }

    /// Whether `name` falls under one of the prefixes, per path component: `models` and `models/`
    /// both cover `models` and `models/churn`, not `modelsx`.
    public func covers(name: String) -> Bool {
        if prefixes.isEmpty { return true }
        return prefixes.contains { raw in
            let p = raw.hasSuffix("/") ? String(raw.dropLast()) : raw
            return p.isEmpty || name == p || name.hasPrefix(p + "/")
        }
    }
}
