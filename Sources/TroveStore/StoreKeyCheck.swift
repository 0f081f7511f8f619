import TroveCore

/// Which keys a store accepts at open (docs/OPERATIONS.md, "Encryption at rest").
///
/// The key a store was created with is named in `trove.toml` (`[encryption] key_id`, written
/// once); the keys it has written under since a rotation are listed in `ROOT/keys.toml`
/// (`known = [...]`, rewritten durably under the store lock). A key not among them is taken as
/// a rotation only when the operator also gives at least one known key as an old key (proof
/// that the change is deliberate, not a wrong file); every old key given must be known.
extension StoreCipher {
    static let keysFile = "keys.toml"

    /// Checks `encryption` against the store's config before anything is touched. Returns the
    /// new list of known key ids when this open rotates to a new key, else nil.
    static func checkKeys(config: StoreConfig, encryption: StoreEncryption?, root: String) throws(StoreError)
        -> [String]?
    {
        switch (config.encryptionKeyID, encryption) {
        case (nil, nil): return nil
        case (nil, _?):
            throw .encryption(
                "the store at \(root) is not encrypted (encryption is chosen when a store is created): "
                    + "remove encryption_key_file, or create a new store with it")
        case (let id?, nil):
            throw .encryption(
                "the store at \(root) is encrypted (key id \(id)): set [store] encryption_key_file to its key file")
        case (let first?, let e?):
            let known = try knownKeyIDs(root: root, first: first)
            for old in e.oldKeys where !known.contains(old.id) {
                throw .encryption(
                    "an old key given (id \(old.id)) is not a key of the store at \(root) "
                        + "(its keys: \(known.joined(separator: ", "))): check encryption_old_key_files")
            }
            if known.contains(e.key.id) { return nil }
            guard !e.oldKeys.isEmpty else {
                throw .encryption(
                    "wrong key: encryption_key_file holds key id \(e.key.id), but the store at \(root) was written "
                        + "under key id(s) \(known.joined(separator: ", ")); to rotate to a new key, also list the "
                        + "current key file in encryption_old_key_files")
            }
            return known + [e.key.id]
        }
    }

    /// The key ids the store has written under: trove.toml's, then keys.toml's.
    static func knownKeyIDs(root: String, first: String) throws(StoreError) -> [String] {
        let path = root + "/" + keysFile
        guard FileIO.exists(path) else { return [first] }
        let bytes = try FileIO.readFile(path, limit: 1 << 16)
        guard let text = String(validating: bytes, as: UTF8.self),
            let ids = (try? TOML.parse(text))?["known"]?.stringArray, ids.contains(first)
        else { throw .corruptConfig(path: path, detail: "expected known = [\"KEYID\", ...] including \(first)") }
        return ids
    }

    /// Records the known key ids (a rotation), durably, before any data is sealed under the new key.
    static func recordKeys(_ ids: [String], root: String) throws(StoreError) {
        let text =
            "# Encryption-at-rest keys this store has written under (docs/OPERATIONS.md). Managed by troved.\n"
            + "known = [\(ids.map { "\"\($0)\"" }.joined(separator: ", "))]\n"
        try FileIO.writeDurably(Array(text.utf8), to: root + "/" + keysFile, tmpDir: root + "/tmp")
    }
}
