import ArgumentParser

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Parses and runs a command tree with the exit codes the README documents: argument-parser
/// errors exit 2 (not the parser's 64) with the usage line, and an unknown subcommand is named
/// with the nearest real one instead of "unexpected arguments".
enum Entry {
    /// Exit code for usage errors (bad arguments, unknown subcommand).
    static let usageExit: Int32 = 2

    static func run(_ root: ParsableCommand.Type, arguments: [String]) -> Never {
        if let message = unknownSubcommand(arguments, root: root) {
            Output.err(message)
            exit(usageExit)
        }
        do {
            var command = try root.parseAsRoot(arguments)
            try command.run()
            Output.flush()
            exit(0)
        } catch {
            if root.exitCode(for: error) == .validationFailure {
                Output.flush()
                Output.err(root.fullMessage(for: error) + "\n")
                exit(usageExit)
            }
            Output.flush()
            root.exit(withError: error)
        }
    }

    /// The message for the first argument that should name a subcommand and names none, e.g.
    /// `trove: error: 'pul' is not a trove command. Did you mean 'pull'?`; nil when the
    /// arguments name real subcommands all the way down (or an option comes first).
    static func unknownSubcommand(_ arguments: [String], root: ParsableCommand.Type) -> String? {
        var command = root
        var path = [root.configuration.commandName ?? "trove"]
        for arg in arguments {
            let config = command.configuration
            guard !config.subcommands.isEmpty, config.defaultSubcommand == nil,
                !arg.hasPrefix("-"), arg != "help"
            else { return nil }
            let names = config.subcommands.map { $0.configuration.commandName ?? "" }
            guard let i = names.firstIndex(of: arg) else {
                let full = path.joined(separator: " ")
                var text = "\(full): error: '\(arg)' is not a \(full) command."
                let near = Nearest.matches(arg, in: names)
                if !near.isEmpty {
                    text += " Did you mean " + near.map { "'\($0)'" }.joined(separator: " or ") + "?"
                }
                text += "\nUsage: \(full) <subcommand>\n  Commands: \(names.joined(separator: ", "))"
                text += "\n  See '\(full) --help' for more information.\n"
                return text
            }
            command = config.subcommands[i]
            path.append(arg)
        }
        return nil
    }
}
