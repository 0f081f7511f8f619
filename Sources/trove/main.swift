import ArgumentParser
import TroveCore

Output.ignoreBrokenPipe()
Entry.run(TroveCommand.self, arguments: Array(CommandLine.arguments.dropFirst()))
