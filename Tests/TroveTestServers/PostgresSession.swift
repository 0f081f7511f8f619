import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A psql session kept open on a database of a test PostgreSQL: it runs the given statements and
/// then waits, so whatever they took (a transaction's table lock) stays held until `end()`.
/// The caller checks on its own connection that the statements took effect (e.g. in `pg_locks`).
public final class HeldPostgresSession {
    let process = Process()
    let input = Pipe()

    /// Starts `psql` on `database` and sends `sql` (complete statements ending with `;`).
    public init(port: Int, database: String, sql: String) throws {
        let psql = [
            "/usr/bin/psql", "-q", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", database, "-X",
            "-v", "ON_ERROR_STOP=1",
        ]
        let asRoot = getuid() == 0
        process.executableURL = URL(fileURLWithPath: asRoot ? "/usr/sbin/runuser" : psql[0])
        process.arguments = asRoot ? ["-u", "postgres", "--"] + psql : Array(psql.dropFirst())
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try input.fileHandleForWriting.write(contentsOf: Data((sql + "\n").utf8))
    }

    /// True while psql runs (false if a statement failed: ON_ERROR_STOP ends it).
    public var isRunning: Bool { process.isRunning }

    /// Ends the session (psql reads end of input and exits; an open transaction is rolled back).
    public func end() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    deinit { if process.isRunning { end() } }
}
