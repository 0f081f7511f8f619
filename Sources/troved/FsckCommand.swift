import ArgumentParser
import Foundation
import TroveServer
import TroveStore

/// `troved fsck --root DIR [--config FILE] [--deep]`: checks a store offline (stop the daemon
/// first). With `--config`, its `[storage]` says where the packs and objects are, its `[catalog]`
/// where the catalog is, its `[store]` key files open an encrypted store (and its root is the default
/// for `--root`).
struct FsckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Check a store's invariants offline (troved must not be running on it).",
        discussion: "Exit 0 when clean, 5 when violations were found, 1 when the check could not run.")

    @Option(name: .long, help: "Store root (default: the config's, else ./trove-data).")
    var root: String?

    @Option(name: .long, help: "troved's config file: where packs and objects ([storage]) and the catalog ([catalog]) live, the store's keys ([store]).")
    var config: String?

    @Flag(name: .long, help: "Also re-read, decompress and re-hash every chunk and object.")
    var deep = false

    func run() throws {
        let cfg = try config.map { try readConfigFile($0, command: "fsck") } ?? ServerConfig()
        let root = root ?? cfg.root
        let store: Store
        do {
            store = try Store.open(
                at: root,
                options: try makeStorage(cfg.storage, root: root).apply(
                    StoreOptions(catalog: try makeCatalog(cfg.catalog), encryption: try loadEncryption(cfg))))
        } catch {
            printError("troved fsck: cannot open \(root): \(error)")
            throw ExitCode(1)
        }
        if let note = store.takeDiskNote() { printError("troved fsck: \(note)") }
        let report: FsckReport
        do { report = try store.fsck(deep: deep) } catch {
            printError("troved fsck: \(error)")
            throw ExitCode(1)
        }
        for v in report.violations { print("violation\t\(v)") }
        for w in report.warnings { print("warning\t\(w)") }
        print(
            "packs \(report.packs), chunks \(report.chunks), objects \(report.objects), versions \(report.versions): "
                + (report.isClean ? "clean" : "\(report.violations.count) violation(s)"))
        if !report.isClean { throw ExitCode(5) }
    }
}

/// The config file at `path`, parsed; an unreadable or invalid one prints why and exits 1.
func readConfigFile(_ path: String, command: String) throws -> ServerConfig {
    do {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError("cannot read config file \(path)")
        }
        return try ServerConfig.parse(toml: text, path: path)
    } catch {
        printError("troved \(command): \(error)")
        throw ExitCode(1)
    }
}
