import Foundation

/// Where a PostgreSQL catalog lives: parsed from `postgres://USER@HOST:PORT/DB` (troved's
/// `[catalog] url`), with the password given apart (a `password_file` or `PGPASSWORD`) so it
/// never sits in a config file's URL. TLS as libpq spells it in the URL: `?sslmode=require`
/// (encrypted, the server unchecked), `verify-ca` or `verify-full` (its certificate checked
/// against `sslrootcert=FILE`, a PEM CA file, else the system's trust store; verify-full also
/// checks that it names HOST).
public struct PostgresCatalogConfig: Sendable, Equatable {
    /// How the connection uses TLS (libpq's `sslmode`).
    public enum TLSMode: Sendable, Equatable {
        case disable
        case require
        case verifyCA(caFile: String?)
        case verifyFull(caFile: String?)
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// Connections the catalog opens at most (besides one per held global lock).
    public var maxConnections: Int
    /// Seconds one statement may run (the server's `statement_timeout`, waiting for a lock
    /// included). The client waits 2 s longer for any answer, then closes the connection: a
    /// server that went away without closing it never hangs a request.
    public var statementTimeout: Int
    /// Seconds to connect and log in.
    public var connectTimeout: Int
    /// TLS to the server (default: none).
    public var tls: TLSMode = .disable

    public init(
        host: String, port: Int = 5432, user: String, password: String? = nil, database: String,
        maxConnections: Int = 8, statementTimeout: Int = 60, connectTimeout: Int = 10
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.maxConnections = maxConnections
        self.statementTimeout = statementTimeout
        self.connectTimeout = connectTimeout
    }

    /// Seconds the client waits for any answer on an open connection.
    var answerDeadline: Double { Double(max(1, statementTimeout)) + 2 }

    /// Parses `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` (`postgresql://` too); `password`, when
    /// given, wins over one in the URL. Throws a message saying what is wrong.
    public init(
        url: String, password: String? = nil, maxConnections: Int = 8, statementTimeout: Int = 60,
        connectTimeout: Int = 10
    ) throws(PostgresConfigError) {
        let shape = "expected postgres://USER@HOST:PORT/DB"
        guard let c = URLComponents(string: url), let scheme = c.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else { throw PostgresConfigError("catalog url \(url.redactingPassword) is not a postgres:// URL (\(shape))") }
        guard let host = c.host, !host.isEmpty else {
            throw PostgresConfigError("catalog url \(url.redactingPassword) names no host (\(shape))")
        }
        guard let user = c.user, !user.isEmpty else {
            throw PostgresConfigError("catalog url \(url.redactingPassword) names no user (\(shape))")
        }
        let db = String(c.path.drop(while: { $0 == "/" }))
        guard !db.isEmpty, !db.contains("/") else {
            throw PostgresConfigError("catalog url \(url.redactingPassword) names no database (\(shape))")
        }
        self.init(
            host: host, port: c.port ?? 5432, user: user.removingPercentEncoding ?? user,
            password: password ?? c.password?.removingPercentEncoding, database: db,
            maxConnections: maxConnections, statementTimeout: statementTimeout, connectTimeout: connectTimeout)
        tls = try Self.tlsMode(c.queryItems ?? [], url.redactingPassword)
    }

    /// `sslmode` and `sslrootcert` from the URL's query; any other parameter is refused.
    static func tlsMode(_ items: [URLQueryItem], _ url: String) throws(PostgresConfigError) -> TLSMode {
        var mode = "disable"
        var caFile: String?
        for item in items {
            switch item.name {
            case "sslmode": mode = item.value ?? ""
            case "sslrootcert": caFile = item.value
            default:
                throw PostgresConfigError(
                    "catalog url \(url): unknown parameter \(item.name) (known: sslmode, sslrootcert)")
            }
        }
        switch mode {
        case "disable":
            guard caFile == nil else {
                throw PostgresConfigError("catalog url \(url): sslrootcert needs sslmode=verify-ca or verify-full")
            }
            return .disable
        // As libpq: require with a CA file checks the certificate like verify-ca.
        case "require": return caFile.map { .verifyCA(caFile: $0) } ?? .require
        case "verify-ca": return .verifyCA(caFile: caFile)
        case "verify-full": return .verifyFull(caFile: caFile)
        default:
            throw PostgresConfigError(
                "catalog url \(url): sslmode=\(mode) is not supported (use disable, require, verify-ca or verify-full)")
        }
    }

    /// The URL without the password (for messages and logs).
    public var displayURL: String { "postgres://\(user)@\(host):\(port)/\(database)" }
}

/// A catalog URL or password that cannot be used.
public struct PostgresConfigError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ d: String) { description = d }
}

extension String {
    /// A URL with any `:password@` replaced by `:***@`.
    var redactingPassword: String {
        guard let at = firstIndex(of: "@"), let scheme = range(of: "://"), scheme.upperBound < at,
            let colon = self[scheme.upperBound..<at].firstIndex(of: ":")
        else { return self }
        return String(self[..<colon]) + ":***" + String(self[at...])
    }
}
