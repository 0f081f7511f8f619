import ArgumentParser
import TroveStore

/// `troved key new FILE`: makes an encryption-at-rest key (docs/OPERATIONS.md, "Encryption at rest").
struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Create encryption-at-rest keys.", subcommands: [New.self])

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write 32 random bytes to FILE (mode 0600; refuses to overwrite) and print the key id.",
            discussion: """
                Name the file in troved.toml as [store] encryption_key_file before the store is created. \
                Keep a copy somewhere safe and apart from the store: without it the data cannot be read. \
                Exit 0 made, 1 the file exists or cannot be written.
                """)

        @Argument(help: "The key file to create.")
        var file: String

        func run() throws {
            do {
                let key = try StoreKey.create(path: file)
                print("key id \(key.id) written to \(file)")
            } catch {
                printError("troved key new: \(error)")
                throw ExitCode(1)
            }
        }
    }
}
