import Foundation
import Testing
import TrovePostgres

#if canImport(Glibc)
    import Glibc
#endif

/// A PostgreSQL 15 server (Debian's binaries in /usr/lib/postgresql/15/bin, installed by
/// scripts/setup.d/22-postgresql.sh) started once per test process: `initdb` into a temporary
/// directory and `postgres` on a free loopback port, both as the unprivileged `postgres` user
/// when the tests run as root (CI does; PostgreSQL refuses to run as root). A watchdog stops it
/// when the test process ends. Groundwork for the PostgreSQL catalog (docs/SCALING.md).
final class PostgresServer: Sendable {
    static let bin = "/usr/lib/postgresql/15/bin"
    let port: Int
    let directory: String
    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    private static let started: Result<PostgresServer, PostgresError> = Result { () throws(PostgresError) in
        try PostgresServer()
    }

    /// The shared server (started on first use).
    static func shared() throws -> PostgresServer { try started.get() }

    /// Runs `command` (argv) as the server's user; (status, output).
    static func runAsServerUser(_ command: [String]) throws -> (Int32, String) {
        let p = Process()
        let asRoot = getuid() == 0
        p.executableURL = URL(fileURLWithPath: asRoot ? "/usr/sbin/runuser" : command[0])
        p.arguments = asRoot ? ["-u", "postgres", "--"] + command : Array(command.dropFirst())
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private init() throws(PostgresError) {
        guard FileManager.default.isExecutableFile(atPath: Self.bin + "/initdb") else {
            throw PostgresError(
                "PostgreSQL 15 is not installed (\(Self.bin)/initdb): run `bash scripts/setup-tests` (scripts/setup.d/22-postgresql.sh)")
        }
        let dir = "/tmp/trove-pg-\(UUID().uuidString)"
        directory = dir
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // The server's user must own its data directory.
            if getuid() == 0, let pw = getpwnam("postgres") {
                guard chown(dir, pw.pointee.pw_uid, pw.pointee.pw_gid) == 0 else {
                    throw PostgresError("cannot chown \(dir) to postgres: errno \(errno)")
                }
            } else if getuid() == 0 {
                throw PostgresError("the tests run as root and there is no `postgres` user to run PostgreSQL as")
            }
            let r = try Self.runAsServerUser([
                Self.bin + "/initdb", "-D", dir + "/data", "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8",
            ])
            guard r.0 == 0 else { throw PostgresError("initdb failed:\n\(r.1)") }
        } catch let e as PostgresError {
            throw e
        } catch {
            throw PostgresError("cannot prepare \(dir): \(error)")
        }
        var lastLog = ""
        for _ in 0..<5 {
            let port = Int.random(in: 20000...60000)
            let log = dir + "/postgres-\(port).log"
            let server = [
                Self.bin + "/postgres", "-D", dir + "/data", "-h", "127.0.0.1", "-p", String(port), "-k", dir,
                "-c", "fsync=off", "-c", "max_connections=300",
            ].map { "'\($0)'" }.joined(separator: " ")
            let prefix = getuid() == 0 ? "/usr/sbin/runuser -u postgres -- " : ""
            let script = "\(prefix)\(server) >'\(log)' 2>&1 & w=$!; while kill -0 \(getpid()) 2>/dev/null && kill -0 $w 2>/dev/null; do sleep 1; done; kill $w 2>/dev/null; sleep 3; kill -9 $w 2>/dev/null; rm -rf '\(dir)'"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", script]
            p.standardInput = FileHandle.nullDevice
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            do { try p.run() } catch { throw PostgresError("cannot start postgres: \(error)") }
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline && p.isRunning {
                let ready = try? Self.runAsServerUser([
                    Self.bin + "/pg_isready", "-h", "127.0.0.1", "-p", String(port), "-q",
                ])
                if ready?.0 == 0 {
                    self.port = port
                    return
                }
                usleep(100_000)
            }
            lastLog = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        }
        throw PostgresError("postgres did not start accepting connections; its log ends:\n\(lastLog.suffix(3000))")
    }

    /// Runs SQL through psql; its output (unaligned, tuples only).
    func psql(_ sql: String) throws -> String {
        let r = try Self.runAsServerUser([
            "/usr/bin/psql", "-q", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres", "-X", "-A",
            "-t", "-v", "ON_ERROR_STOP=1", "-c", sql,
        ])
        guard r.0 == 0 else { throw PostgresError("psql failed (\(r.0)): \(r.1)") }
        return r.1.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension PostgresServer {
    /// A new database on the shared server (cheap: a copy of `template`, by default the empty
    /// template1), as a catalog config with a small pool.
    func freshDatabase(template: String = "template1", maxConnections: Int = 4) throws -> PostgresCatalogConfig {
        let name = "trove_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        _ = try psql("CREATE DATABASE \(name) TEMPLATE \(template) STRATEGY FILE_COPY")
        return PostgresCatalogConfig(
            host: "127.0.0.1", port: port, user: "postgres", database: name, maxConnections: maxConnections)
    }
}

struct PostgresError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// The fixture the PostgreSQL catalog will run the Store suite on: it starts, and it is a real
/// PostgreSQL 15 with the features the catalog design relies on.
@Suite("PostgreSQL fixture")
struct PostgresFixtureTests {
    @Test func startsAndAnswersWithWhatTheCatalogNeeds() throws {
        let pg = try PostgresServer.shared()
        #expect(try pg.psql("SHOW server_version").hasPrefix("15."))
        // ON CONFLICT, RETURNING, bytea keys and advisory locks (docs/SCALING.md).
        let out = try pg.psql(
            """
            CREATE TEMP TABLE chunks (digest bytea PRIMARY KEY, pack bigint NOT NULL);
            INSERT INTO chunks VALUES ('\\x00ff', 1) ON CONFLICT DO NOTHING;
            INSERT INTO chunks VALUES ('\\x00ff', 2) ON CONFLICT DO NOTHING;
            SELECT pack FROM chunks WHERE digest = '\\x00ff';
            """)
        #expect(out == "1")
        #expect(try pg.psql("SELECT pg_try_advisory_lock(16)") == "t")
    }
}
