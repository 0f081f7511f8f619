import ArgumentParser
import Foundation
import TroveStore

/// `troved fsck --root DIR [--deep]`: checks a store offline (stop the daemon first).
struct FsckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Check a store's invariants offline (troved must not be running on it).",
        discussion: "Exit 0 when clean, 5 when violations were found, 1 when the check could not run.")

    @Option(name: .long, help: "Store root.")
    var root: String = "./trove-data"

    @Flag(name: .long, help: "Also re-read, decompress and re-hash every chunk and object.")
    var deep = false

    func run() throws {
        let store: Store
        do { store = try Store.open(at: root) } catch {
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
