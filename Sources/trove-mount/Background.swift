import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The default (background) mode of `trove mount`: this program starts a detached copy of itself
/// (`--daemon-child`) and waits until it reports the mount ready or fails.
enum Background {
    /// Starts the detached child and waits: 0 once it reports the mount ready (after printing the
    /// mount point and its pid); otherwise its messages are shown and its status returned.
    static func mount(mountpoint: String) -> Int32 {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        // First, so it comes before any `--` that ends the options.
        child.arguments = ["--daemon-child"] + Array(CommandLine.arguments.dropFirst())
        let pipe = Pipe()
        child.standardOutput = pipe
        child.standardError = pipe
        child.standardInput = FileHandle.nullDevice
        do { try child.run() } catch {
            note("trove: error: cannot start the background mount process: \(error)")
            return 1
        }
        try? pipe.fileHandleForWriting.close()
        var output = Data()
        let reader = pipe.fileHandleForReading
        while true {
            let more = reader.availableData
            if more.isEmpty { break }
            output += more
            if let text = String(data: output, encoding: .utf8), text.hasPrefix("ready\n") || text == "ready"
            {
                note(
                    "trove: mounted at \(mountpoint) (pid \(child.processIdentifier)); unmount with "
                        + "`fusermount3 -u \(mountpoint)`")
                return 0
            }
        }
        child.waitUntilExit()
        FileHandle.standardError.write(output)
        return child.terminationStatus == 0 ? 1 : child.terminationStatus
    }

    /// In the child, once the mount is live: tells the waiting parent and detaches standard
    /// input, output and error (to /dev/null), so the parent's pipe closes.
    static func reportReadyAndDetach() {
        FileHandle.standardOutput.write(Data("ready\n".utf8))
        let null = open("/dev/null", O_RDWR)
        if null >= 0 {
            dup2(null, 0)
            dup2(null, 1)
            dup2(null, 2)
            if null > 2 { close(null) }
        }
    }
}
