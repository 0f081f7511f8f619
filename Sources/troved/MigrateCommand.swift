import ArgumentParser
import Foundation
import TroveObjectStorage
import TrovePostgres
import TroveServer
import TroveStore

/// `troved migrate --config NEW.toml [--root DIR] [--replace-catalog]`: moves a local store
/// (troved stopped) to what NEW.toml names: its packs and objects to the object store of
/// `[storage] packs = "s3"`, then its SQLite catalog to the PostgreSQL of `[catalog] url`
/// (either or both). Packs and objects are copied idempotently (a re-run resumes); the catalog
/// in one PostgreSQL transaction, verified before it commits (a re-run after a failure starts
/// again; after a success it finds the same rows and says so). The store is only read. Then
/// `troved fsck --config NEW.toml --deep` checks the result and troved starts with NEW.toml.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract:
            "Copy a local store's packs and objects to S3 and its catalog to PostgreSQL, as a new config says (troved stopped).",
        discussion: """
            With [storage] packs = "s3": skips keys that already hold the same bytes (size and SHA-256), \
            writes the others once (If-None-Match: *) and verifies each; run it again after a failure to \
            resume. With [catalog] url: copies every table of ROOT/catalog.sqlite into that database in one \
            transaction, compares row counts and SHA-256 checksums before committing, and refuses a \
            database that holds other rows (--replace-catalog overwrites them). Packs and objects go first, \
            the catalog last. Then run `troved fsck --config NEW.toml --deep` and start troved with NEW.toml. \
            Exit 0 when done, 1 when something could not be copied (nothing half-written in PostgreSQL).
            """)

    @Option(
        name: .long,
        help:
            "The new config: [storage] packs = \"s3\" and [storage.s3], and/or [catalog] url, say where to copy to."
    )
    var config: String

    @Option(name: .long, help: "Store root to copy from (default: the config's, else ./trove-data).")
    var root: String?

    @Flag(name: .long, help: "Overwrite a PostgreSQL catalog that holds other rows (they are lost).")
    var replaceCatalog = false

    func run() throws {
        let cfg = try readConfigFile(config, command: "migrate")
        let toS3 = cfg.storage.packs == .s3
        guard toS3 || cfg.catalog.url != nil else {
            printError(
                "troved migrate: \(config) keeps packs locally and the catalog in SQLite: nothing to move to; set "
                    + "[storage] packs = \"s3\" and [storage.s3], and/or [catalog] url")
            throw ExitCode(1)
        }
        guard !toS3 || cfg.storage.s3 != nil else {
            printError("troved migrate: \(config) sets [storage] packs = \"s3\" without [storage.s3]")
            throw ExitCode(1)
        }
        let root = root ?? cfg.root
        do {
            // Opened with local storage: the lock keeps troved off the store while the files are read.
            let store = try Store.open(at: root, options: StoreOptions(encryption: try loadEncryption(cfg)))
            if toS3, let s3 = cfg.storage.s3 {
                let client = try makeS3Client(s3)
                do { try client.probe(prefix: s3.prefix + "packs/") } catch {
                    throw TrovedError("the S3 bucket does not answer: \(error)")
                }
                let r = try StoreMigration(client: client, prefix: s3.prefix, root: root).run()
                print(
                    "packs: \(r.packsUploaded) copied, \(r.packsPresent) already there; "
                        + "objects: \(r.objectsUploaded) copied, \(r.objectsPresent) already there; "
                        + "\(r.bytesUploaded) bytes uploaded")
            }
            print(try copyCatalog(store, to: cfg, replace: replaceCatalog))
            print(
                "next: troved fsck --root \(root) --config \(config) --deep, then start troved with \(config)"
            )
        } catch {
            printError("troved migrate: \(error)")
            throw ExitCode(1)
        }
    }
}

/// The catalog's share of `troved migrate`: with a `[catalog] url` in `cfg`, copies the SQLite
/// catalog of `store` (which stays open, so its lock keeps troved off) into that PostgreSQL
/// database (`CatalogCopy`: one transaction, verified; a non-empty target refused unless
/// `replace`). What it did, for the operator.
func copyCatalog(_ store: Store, to cfg: ServerConfig, replace: Bool) throws -> String {
    guard let target = try makeCatalog(cfg.catalog) else {
        return "catalog: stays in \(store.root)/catalog.sqlite (small recipes are rows there)"
    }
    defer { target.close() }
    let source = try SQLiteCatalog(path: store.root + "/catalog.sqlite")
    return try CatalogCopy(source: source, target: target, replace: replace).run { print($0) }.summary
}
