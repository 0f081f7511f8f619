import Dispatch
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// A small blocking pool of PostgreSQL connections. The Store's API is synchronous, so every
/// call waits on postgres-nio's futures from the calling thread (never an event loop), as the
/// S3 client does, and every wait has a deadline (`PostgresDeadline.swift`). At most
/// `maxConnections` are lent at once (a caller beyond that waits for one to come back); idle ones
/// are kept for reuse, broken ones dropped (and the idle ones with them: a lost connection usually
/// means the server restarted or went away).
final class PostgresConnectionPool: Sendable {
    let config: PostgresCatalogConfig
    let logger: Logger
    private let group: any EventLoopGroup
    /// Idle connections, guarded by this Mutex.
    private let idle = Mutex<[PostgresConnection]>([])
    /// Counts free lending slots (a counting semaphore is no lock: it guards no state).
    private let slots: DispatchSemaphore
    private let nextID = Atomic<Int>(1)
    private let closed = Atomic<Bool>(false)
    /// The connections' TLS setting (its context made once), or why TLS cannot be used.
    private let tls: Result<PostgresConnection.Configuration.TLS, PostgresCatalogError>

    init(config: PostgresCatalogConfig, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.config = config
        self.group = group
        self.slots = DispatchSemaphore(value: max(1, config.maxConnections))
        self.tls = Result { () throws(PostgresCatalogError) in try config.tls.connectionTLS() }
        var logger = Logger(label: "trove.catalog.postgres")
        logger.logLevel = .critical
        self.logger = logger
    }

    /// A new connection outside the pool (the caller closes it), e.g. one held with a lock.
    func connect() throws(PostgresCatalogError) -> PostgresConnection {
        var c = PostgresConnection.Configuration(
            host: config.host, port: config.port, username: config.user, password: config.password,
            database: config.database, tls: try tls.get())
        c.options.connectTimeout = .seconds(Int64(max(1, config.connectTimeout)))
        // The server cancels a statement that runs (or waits for a lock) longer than this.
        c.options.additionalStartupParameters = [("statement_timeout", "\(max(1, config.statementTimeout) * 1000)")]
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let logger = self.logger
        do {
            return try PostgresConnection.connect(
                on: group.next(), configuration: c, id: id, logger: logger
            ).wait(within: Double(max(1, config.connectTimeout)) + 1, "a new connection") { late in
                let _: EventLoopFuture<Void> = late.close()
            }
        } catch {
            if let tlsFailure = PostgresCatalogError.tls(error, config) { throw tlsFailure }
            let e = PostgresCatalogError.from(error)
            // Refused or unreachable: retryable; a refused login or a missing database: the
            // server's message (with its SQLSTATE).
            if e.sqlState == nil {
                let cause = (error as? PSQLError)?.underlying.map { "\($0)" } ?? e.message
                throw PostgresCatalogError(.connectionLost, "cannot connect: \(cause)")
            }
            throw e
        }
    }

    /// Runs `body` with a connection lent from the pool. If `body` throws `connectionLost` the
    /// connection is dropped, otherwise it goes back to the pool.
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        slots.wait()
        defer { slots.signal() }
        let connection = try take()
        do {
            let result = try body(connection)
            give(connection)
            return result
        } catch let e as PostgresCatalogError where e.kind == .connectionLost {
            close(connection)
            discardIdle()
            throw e
        } catch {
            give(connection)
            throw error
        }
    }

    private func take() throws(PostgresCatalogError) -> PostgresConnection {
        while let c = idle.withLock({ $0.popLast() }) {
            if !c.isClosed { return c }
        }
        return try connect()
    }

    private func give(_ connection: PostgresConnection) {
        guard !connection.isClosed else { return }
        if closed.load(ordering: .acquiring) {
            close(connection)
            return
        }
        idle.withLock { $0.append(connection) }
    }

    /// Closes `connection` (waiting a moment at most: its socket may be dead).
    func close(_ connection: PostgresConnection) {
        _ = try? connection.close().wait(within: 2, "closing a connection")
    }

    /// Closes the idle connections (after one was found lost, the others likely are too).
    func discardIdle() {
        for c in idle.withLock({ l in defer { l.removeAll() }; return l }) { close(c) }
    }

    /// Closes the idle connections; lent ones close when they come back.
    func shutdown() {
        closed.store(true, ordering: .releasing)
        discardIdle()
    }
}
