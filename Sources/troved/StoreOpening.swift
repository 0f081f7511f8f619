import Foundation
import TroveCore
import TroveServer
import TroveStore

/// Opens the store at `config.root`, creating it (with the config's chunking and codec) when the
/// directory is missing or empty.
func openOrCreateStore(_ config: ServerConfig) throws -> (Store, created: Bool) {
    let fm = FileManager.default
    let root = config.root
    var options = try makeStorage(config.storage, root: root).apply(
        StoreOptions(
            packSize: config.packSize, minFreeSpace: config.minFreeSpace, reserveBytes: config.diskReserve,
            catalog: try makeCatalog(config.catalog), encryption: try loadEncryption(config)))
    options.directIO = config.directIO
    // A/B switch for the commit's rows in key order, bound directly (docs/PERFORMANCE.md, ninth pass).
    options.directRows = ProcessInfo.processInfo.environment["TROVE_STORE_DIRECT_ROWS"] != "0"
    options.checkpointAside = ProcessInfo.processInfo.environment["TROVE_STORE_CHECKPOINT_ASIDE"] != "0"
    if fm.fileExists(atPath: root + "/trove.toml") {
        return (try Store.open(at: root, options: options), false)
    }
    let entries = (try? fm.contentsOfDirectory(atPath: root)) ?? []
    guard entries.isEmpty else {
        throw TrovedError(
            "\(root) exists, is not empty and holds no trove.toml: refusing to create a store there; "
                + "pick an empty or new directory with --root")
    }
    let c = config.chunking
    let storeConfig = StoreConfig(
        chunking: StoreChunking(min: c.min, avg: c.avg, max: c.max, normalization: c.normalization),
        codec: config.codec, level: config.level, formats: config.formats)
    _ = try Store.create(at: root, config: storeConfig, options: options)
    return (try Store.open(at: root, options: options), true)
}

/// The keys `[store] encryption_key_file` and `encryption_old_key_files` name (nil: none).
/// An old key file without a current one is a configuration error.
func loadEncryption(_ config: ServerConfig) throws(StoreError) -> StoreEncryption? {
    guard let file = config.encryptionKeyFile else {
        if !config.encryptionOldKeyFiles.isEmpty {
            throw .encryption("encryption_old_key_files is set but encryption_key_file is not")
        }
        return nil
    }
    var old: [StoreKey] = []
    for f in config.encryptionOldKeyFiles { old.append(try StoreKey.load(path: f)) }
    return StoreEncryption(key: try StoreKey.load(path: file), oldKeys: old)
}

/// A troved failure with a message for the operator.
struct TrovedError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
