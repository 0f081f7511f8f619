import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A PostgreSQL 15 server (Debian's binaries in /usr/lib/postgresql/15/bin, installed by
/// scripts/setup.d/22-postgresql.sh) started once per test process: `initdb` into a temporary
/// directory and `postgres` on a free loopback port, both as the unprivileged `postgres` user
/// when the tests run as root (CI does; PostgreSQL refuses to run as root). A watchdog stops it
/// when the test process ends. The PostgreSQL catalog's tests (TroveStoreTests: the engine and the
/// Store suite on it; TroveObjectStorageTests: troved instances sharing one catalog) use it.
public final class PostgresServer: Sendable {
    public static let bin = "/usr/lib/postgresql/15/bin"
    public let port: Int
    public let directory: String
    /// False for a `dedicated` server: its watchdog leaves the data directory when the server
    /// stops (it is restarted), and `destroy` removes it.
    let removedWithServer: Bool
    /// Settings given to `postgres` besides the defaults (`-c NAME=VALUE` each).
    let settings: [String]
    /// `dedicatedWithTLS`: the CA that signed the server's certificate (PEM), and another CA.
    public var caCertificate: String { directory + "/ca.pem" }
    public var otherCACertificate: String { directory + "/other-ca.pem" }
    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    public var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    private static let started: Result<PostgresServer, PostgresError> = Result { () throws(PostgresError) in
        try PostgresServer(dedicated: false)
    }

    /// The shared server (started on first use).
    public static func shared() throws -> PostgresServer { try started.get() }

    /// A server of the caller's own, which it may `stop` and `restart` (same port, same data);
    /// `destroy` it at the end.
    public static func dedicated() throws -> PostgresServer { try PostgresServer(dedicated: true) }

    /// A dedicated server that accepts TCP connections only over TLS (`hostssl` in pg_hba.conf)
    /// with a throwaway certificate for `localhost` (a DNS name only) signed by a throwaway CA (`caCertificate`),
    /// both made with the openssl CLI; `otherCACertificate` signed nothing.
    public static func dedicatedWithTLS() throws -> PostgresServer { try PostgresServer(dedicated: true, tls: true) }

    /// Runs `command` (argv) as the server's user; (status, output).
    public static func runAsServerUser(_ command: [String]) throws -> (Int32, String) {
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

    private init(dedicated: Bool, tls: Bool = false) throws(PostgresError) {
        guard FileManager.default.isExecutableFile(atPath: Self.bin + "/initdb") else {
            throw PostgresError(
                "PostgreSQL 15 is not installed (\(Self.bin)/initdb): run `bash scripts/setup-tests` (scripts/setup.d/22-postgresql.sh)")
        }
        let dir = "/tmp/trove-pg-\(UUID().uuidString)"
        directory = dir
        removedWithServer = !dedicated
        settings =
            tls ? ["ssl=on", "ssl_cert_file=\(dir)/server.pem", "ssl_key_file=\(dir)/server.key"] : []
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
            if tls { try Self.makeCertificates(dir) }
        } catch let e as PostgresError {
            throw e
        } catch {
            throw PostgresError("cannot prepare \(dir): \(error)")
        }
        var lastLog = ""
        for _ in 0..<5 {
            let port = Int.random(in: 20000...60000)
            do {
                try Self.launch(directory: dir, port: port, settings: settings, removing: !dedicated)
                self.port = port
                return
            } catch { lastLog = error.description }
        }
        throw PostgresError("postgres did not start accepting connections; its log ends:\n\(lastLog.suffix(3000))")
    }

    /// Starts `postgres` on the data in `directory` and waits until it accepts connections. Its
    /// watchdog removes `directory` when the server ends if `removing` (else an empty path in it).
    private static func launch(
        directory dir: String, port: Int, settings: [String], removing: Bool
    ) throws(PostgresError) {
        let log = dir + "/postgres-\(port).log"
        let server = ([
            Self.bin + "/postgres", "-D", dir + "/data", "-h", "127.0.0.1", "-p", String(port), "-k", dir,
            "-c", "fsync=off", "-c", "max_connections=300",
        ] + settings.flatMap { ["-c", $0] }).map { "'\($0)'" }.joined(separator: " ")
        let prefix = getuid() == 0 ? "/usr/sbin/runuser -u postgres -- " : ""
        let p: Process
        do {
            p = try WatchedServer.start(
                prefix + server, log: log, removing: removing ? dir : dir + "/.nothing-\(UUID().uuidString)",
                grace: 3)
        } catch { throw PostgresError("cannot start postgres: \(error)") }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && p.isRunning {
            let ready = try? Self.runAsServerUser([Self.bin + "/pg_isready", "-h", "127.0.0.1", "-p", String(port), "-q"])
            if ready?.0 == 0 { return }
            usleep(100_000)
        }
        throw PostgresError((try? String(contentsOfFile: log, encoding: .utf8)) ?? "(no log)")
    }

    /// A CA, a certificate for localhost it signs (and its key, which only the server's user can
    /// read, as PostgreSQL demands), another CA, and a pg_hba.conf that takes TCP only over TLS.
    private static func makeCertificates(_ dir: String) throws {
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"]
        let ca = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
        for command in [
            ["req", "-x509"] + ec + ["-keyout", "\(dir)/ca.key", "-out", "\(dir)/ca.pem", "-subj", "/CN=Trove PG CA"] + ca,
            ["req", "-x509"] + ec + ["-keyout", "\(dir)/other-ca.key", "-out", "\(dir)/other-ca.pem", "-subj", "/CN=Other CA"]
                + ca,
            ["req", "-x509"] + ec + [
                "-CA", "\(dir)/ca.pem", "-CAkey", "\(dir)/ca.key", "-keyout", "\(dir)/server.key", "-out",
                "\(dir)/server.pem", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                "-addext", "basicConstraints=CA:FALSE",
            ],
        ] {
            let r = try runAsServerUser(["/usr/bin/openssl"] + command)
            guard r.0 == 0 else { throw PostgresError("openssl \(command.prefix(2).joined(separator: " ")) failed: \(r.1)") }
        }
        _ = try runAsServerUser(["/bin/chmod", "0600", "\(dir)/server.key"])
        let hba = "local all all trust\nhostssl all all 127.0.0.1/32 trust\n"
        let r = try runAsServerUser(["/bin/sh", "-c", "printf '\(hba)' > '\(dir)/data/pg_hba.conf'"])
        guard r.0 == 0 else { throw PostgresError("cannot write pg_hba.conf: \(r.1)") }
    }

    /// The postmaster's process id (its data directory's `postmaster.pid`), while it runs.
    var postmasterPID: pid_t? {
        (try? String(contentsOfFile: directory + "/data/postmaster.pid", encoding: .utf8))
            .flatMap { $0.split(separator: "\n").first }.flatMap { pid_t($0) }
    }

    /// Stops a dedicated server (fast shutdown: sessions are ended) and waits until it is gone;
    /// its data stays for `restart`.
    public func stop() throws {
        guard !removedWithServer else { throw PostgresError("only a dedicated server may be stopped") }
        guard let pid = postmasterPID, kill(pid, SIGINT) == 0 else { throw PostgresError("postgres is not running") }
        let deadline = Date().addingTimeInterval(60)
        while kill(pid, 0) == 0 || FileManager.default.fileExists(atPath: directory + "/data/postmaster.pid") {
            guard Date() < deadline else { throw PostgresError("postgres \(pid) did not stop within 60 s") }
            usleep(50_000)
        }
    }

    /// Starts a stopped dedicated server again on the same port.
    public func restart() throws {
        guard !removedWithServer else { throw PostgresError("only a dedicated server may be restarted") }
        try Self.launch(directory: directory, port: port, settings: settings, removing: false)
    }

    /// Freezes a dedicated server (SIGSTOP to the postmaster and each of its processes): its
    /// sockets stay open and nothing answers, as on a hung host.
    public func pause() throws { try signalAll(SIGSTOP) }

    /// Lets a paused server go on (SIGCONT).
    public func resume() throws { try signalAll(SIGCONT) }

    private func signalAll(_ signal: Int32) throws {
        guard !removedWithServer else { throw PostgresError("only a dedicated server may be paused") }
        guard let pid = postmasterPID else { throw PostgresError("postgres is not running") }
        let children = try Self.runAsServerUser(["/usr/bin/pgrep", "-P", String(pid)]).1
            .split(whereSeparator: \.isWhitespace).compactMap { pid_t($0) }
        for p in [pid] + children { kill(p, signal) }
        // runuser stops itself when it sees its child stopped: it must go on too, or it never
        // reaps the server once it exits.
        if signal == SIGCONT, let parent = Self.parent(of: pid), parent != getpid() { kill(parent, SIGCONT) }
    }

    /// The parent process id of `pid` (from /proc).
    static func parent(of pid: pid_t) -> pid_t? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // "pid (comm) state ppid ...": the comm may hold spaces, so read after its ")".
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) : nil
    }

    /// Stops a dedicated server if it runs and removes its directory.
    public func destroy() {
        if postmasterPID != nil { try? stop() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs SQL through psql; its output (unaligned, tuples only).
    public func psql(_ sql: String) throws -> String {
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
    /// template1); its name.
    public func createDatabase(template: String = "template1") throws -> String {
        let name = "trove_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        _ = try psql("CREATE DATABASE \(name) TEMPLATE \(template) STRATEGY FILE_COPY")
        return name
    }
}

public struct PostgresError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

