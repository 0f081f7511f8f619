import Foundation
import TrovePostgres
import TroveServer
import TroveStore

/// The catalog `[catalog]` configures: nil for the embedded SQLite catalog in the root; for a
/// `url` a PostgreSQL catalog that has answered and is migrated (so a wrong address, database
/// or password stops troved at start, not at the first push). The password comes from
/// `password_file` (its first line), else `PGPASSWORD`.
func makeCatalog(_ catalog: CatalogSettings) throws -> PostgresCatalog? {
    guard let url = catalog.url else { return nil }
    var password = ProcessInfo.processInfo.environment["PGPASSWORD"]
    if let file = catalog.passwordFile {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8),
            let line = text.split(whereSeparator: \.isNewline).first, !line.isEmpty
        else {
            throw TrovedError("cannot read the PostgreSQL password from catalog.password_file \(file)")
        }
        password = String(line)
    }
    let config: PostgresCatalogConfig
    do {
        config = try PostgresCatalogConfig(
            url: url, password: password, maxConnections: catalog.maxConnections,
            statementTimeout: catalog.statementTimeout, connectTimeout: catalog.connectTimeout)
    } catch {
        throw TrovedError("\(error)")
    }
    do {
        return try PostgresCatalog.open(config)
    } catch {
        throw TrovedError("cannot open the PostgreSQL catalog \(config.displayURL): \(error)")
    }
}
