import Foundation
import TroveCore
import TroveServer
import TroveStore

/// Opens the store at `config.root`, creating it (with the config's chunking and codec) when the
/// directory is missing or empty.
func openOrCreateStore(_ config: ServerConfig) throws -> (Store, created: Bool) {
    let fm = FileManager.default
    let root = config.root
    let options = try makeStorage(config.storage, root: root).apply(
        StoreOptions(packSize: config.packSize, minFreeSpace: config.minFreeSpace, reserveBytes: config.diskReserve))
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

/// A troved failure with a message for the operator.
struct TrovedError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
