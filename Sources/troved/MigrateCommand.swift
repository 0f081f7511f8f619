import ArgumentParser
import Foundation
import TroveObjectStorage
import TroveServer
import TroveStore

/// `troved migrate --config NEW.toml [--root DIR]`: copies a local store's packs and objects to
/// the object store `[storage]` of NEW.toml names (troved must not be running on the store).
/// Idempotent and resumable; then `troved fsck --config NEW.toml --deep` checks the result and
/// troved starts with NEW.toml (the local packs and objects become its caches).
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy a local store's packs and objects to the S3 storage of a new config (troved stopped).",
        discussion: """
            Skips keys that already hold the same bytes (size and SHA-256), writes the others once \
            (If-None-Match: *) and verifies each; run it again after a failure to resume. Then run \
            `troved fsck --config NEW.toml --deep` and start troved with NEW.toml. The catalog stays \
            in ROOT/catalog.sqlite. Exit 0 when done, 1 when something could not be copied.
            """)

    @Option(name: .long, help: "The new config: its [storage] packs = \"s3\" and [storage.s3] say where to copy to.")
    var config: String

    @Option(name: .long, help: "Store root to copy from (default: the config's, else ./trove-data).")
    var root: String?

    func run() throws {
        let cfg = try readConfigFile(config, command: "migrate")
        guard cfg.storage.packs == .s3, let s3 = cfg.storage.s3 else {
            printError("troved migrate: \(config) keeps packs locally: set [storage] packs = \"s3\" and [storage.s3]")
            throw ExitCode(1)
        }
        let root = root ?? cfg.root
        do {
            // Opened with local storage: the lock keeps troved off the store while the files are read.
            let store = try Store.open(at: root, options: StoreOptions(encryption: try loadEncryption(cfg)))
            let client = try makeS3Client(s3)
            do { try client.probe(prefix: s3.prefix + "packs/") } catch {
                throw TrovedError("the S3 bucket does not answer: \(error)")
            }
            let r = try StoreMigration(client: client, prefix: s3.prefix, root: root).run()
            print(
                "packs: \(r.packsUploaded) copied, \(r.packsPresent) already there; "
                    + "objects: \(r.objectsUploaded) copied, \(r.objectsPresent) already there; "
                    + "\(r.bytesUploaded) bytes uploaded")
            print(try copyCatalog(store, to: cfg))
            print("next: troved fsck --root \(root) --config \(config) --deep, then start troved with \(config)")
        } catch {
            printError("troved migrate: \(error)")
            throw ExitCode(1)
        }
    }
}

/// The catalog's share of `troved migrate` (the hook a PostgreSQL catalog fills: copy the SQLite
/// catalog of `store` to the `[catalog]` of `cfg`); what it did, for the operator. Today the
/// catalog stays in ROOT/catalog.sqlite, where the new config's troved finds it.
func copyCatalog(_ store: Store, to cfg: ServerConfig) throws -> String {
    "catalog: stays in \(store.root)/catalog.sqlite (small recipes are rows there)"
}
