// trove-torture: the crash-test child. Opens (or creates) a store and writes chunks, commits
// and versions from several threads until it is killed, printing one line per acknowledged
// write (flushed before the next write starts):
//   CHUNK <hex>            chunk durable and indexed
//   TREE <hex>             commit durable
//   VERSION <name> <ver> <tree-hex>
//   ALIAS <name> <alias> <ver>
// Usage: trove-torture ROOT SEED [PACK_SIZE]; trove-torture gc-crash … (GCCrashMode.swift)
import Foundation
import TroveStore

let args = CommandLine.arguments
if args.count >= 2 && args[1] == "gc-crash" { runGCCrashMode(Array(args.dropFirst(2))) }
guard args.count >= 3, let seed = UInt64(args[2]) else {
    fail("usage: trove-torture ROOT SEED [PACK_SIZE]", exit: 2)
}
let root = args[1]
let packSize = args.count > 3 ? Int(args[3]) ?? 256 << 10 : 256 << 10
let options = StoreOptions(packSize: packSize)
let store: Store
do {
    store =
        FileManager.default.fileExists(atPath: root + "/trove.toml")
        ? try Store.open(at: root, options: options) : try Store.create(at: root, options: options)
} catch {
    fail("open failed: \(error)", exit: 1)
}
Torture(store: store, seed: seed).run()
