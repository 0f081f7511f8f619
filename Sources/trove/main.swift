import ArgumentParser
import TroveCore

TroveCommand.main()
