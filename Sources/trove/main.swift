import ArgumentParser
import TroveCore

Output.ignoreBrokenPipe()
Allocator.tuneForTransfers()
Entry.run(TroveCommand.self, arguments: Array(CommandLine.arguments.dropFirst()))
