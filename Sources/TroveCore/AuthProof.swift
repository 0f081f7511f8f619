/// The authentication handshake's arithmetic (PROTOCOL.md §7), shared by client and server.
public enum AuthProof {
    /// The HMAC key for a secret: SHA-256 of its UTF-8 bytes. The server stores only this.
    public static func key(secret: String) -> Digest { SHA256.hash(Array(secret.utf8)) }

    /// The client's proof: HMAC(key, "trove-auth-v1 client" ‖ server nonce ‖ client nonce ‖ name).
    public static func client(key: Digest, serverNonce: [UInt8], clientNonce: [UInt8], name: String) -> Digest
    {
        mac(
            label: "trove-auth-v1 client", key: key, serverNonce: serverNonce, clientNonce: clientNonce,
            name: name)
    }

    /// The server's proof back, so the client knows the server holds the key too.
    public static func server(key: Digest, serverNonce: [UInt8], clientNonce: [UInt8], name: String) -> Digest
    {
        mac(
            label: "trove-auth-v1 server", key: key, serverNonce: serverNonce, clientNonce: clientNonce,
            name: name)
    }

    private static func mac(
        label: String, key: Digest, serverNonce: [UInt8], clientNonce: [UInt8], name: String
    )
        -> Digest
    {
        HMACSHA256.mac(
            key: key.bytes, message: Array(label.utf8) + serverNonce + clientNonce + Array(name.utf8))
    }
}
