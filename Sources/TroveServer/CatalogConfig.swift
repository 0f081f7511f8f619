import TroveCore

/// `[catalog]` of the configuration: where the catalog lives (docs/SCALING.md). Absent: the
/// embedded SQLite catalog, `catalog.sqlite` in the store's root.
public struct CatalogSettings: Sendable, Equatable {
    /// `postgres://USER@HOST:PORT/DB`; nil for SQLite. Several troved instances given the same
    /// URL (and the same `[storage]`) serve one store.
    public var url: String?
    /// A file whose first line is the PostgreSQL password; without it, `PGPASSWORD` (or none).
    public var passwordFile: String?
    /// PostgreSQL connections one troved opens at most (default 8).
    public var maxConnections = 8
    /// Seconds one catalog statement may take, lock waits included (default 60); the client
    /// gives up 2 s later and replaces the connection, so no request hangs on a lost server.
    public var statementTimeout = 60
    /// Seconds to connect and log in to PostgreSQL (default 10).
    public var connectTimeout = 10

    public init() {}

    static func parse(_ value: TOMLValue, _ reader: TableReader) throws(ConfigError) -> CatalogSettings {
        var out = CatalogSettings()
        let path = reader.path
        for (k, v) in try reader.table(value, "catalog") {
            switch k {
            case "url":
                let url = try reader.string(v, "catalog.url")
                guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                    throw ConfigError(
                        "\(path): catalog.url must be postgres://USER@HOST:PORT/DB (or absent for SQLite in the root)")
                }
                out.url = url
            case "password_file": out.passwordFile = try reader.string(v, "catalog.password_file")
            case "max_connections": out.maxConnections = try reader.int(v, "catalog.max_connections", 1...256)
            case "statement_timeout":
                out.statementTimeout = try reader.int(v, "catalog.statement_timeout", 1...86_400)
            case "connect_timeout": out.connectTimeout = try reader.int(v, "catalog.connect_timeout", 1...3600)
            default:
                throw ConfigError(
                    "\(path): unknown key catalog.\(k) (known: url, password_file, max_connections, statement_timeout, connect_timeout)"
                )
            }
        }
        if out.url == nil && (out.passwordFile != nil) {
            throw ConfigError("\(path): catalog.password_file is set but catalog.url is not")
        }
        return out
    }
}
