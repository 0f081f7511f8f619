import Foundation

extension Store {
    /// Checks that what the store needs answers: one catalog read, then one cheap request to the
    /// pack storage and one to the object storage (nothing for local ones). For readiness probes.
    public func probeBackends() throws(StoreError) {
        _ = try catalog.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
        try packStorage.probe()
        try objectStorage.probe()
    }
}
