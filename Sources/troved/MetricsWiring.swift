import Logging
import Metrics
import Prometheus
import Synchronization
import TroveServer
import TroveStore

/// Whether troved is ready for traffic: its protocol listener listens and is not shutting down,
/// and the catalog and the pack and object storage answer (checked at most every 2 s, a check
/// hung for 3 s counting as a failure: `BackendHealth`).
final class Readiness: Sendable {
    private let serving = Mutex(false)
    let backends: BackendHealth

    init(store: Store) {
        backends = BackendHealth(store: store)
        backends.refresh()
    }

    func set(_ value: Bool) { serving.withLock { $0 = value } }

    /// Nil when ready, else why not (for `/readyz`).
    func reason(store: Store) -> String? {
        guard serving.withLock({ $0 }) else { return "the protocol listener is not serving (starting or stopping)" }
        if store.isReadOnly { return "the store is read-only after a failed write (see the log); restart troved" }
        return backends.reason()
    }
}

/// The metrics listener configured by `cfg` (nil when `[metrics] listen` / `--metrics-listen` is
/// not set), after bootstrapping swift-metrics with the Prometheus backend it renders.
func makeMetricsListener(
    _ cfg: ServerConfig, store: Store, readiness: Readiness, logger: Logger, portFile: String?
) throws -> MetricsListener? {
    guard let listen = cfg.metricsListen else { return nil }
    let l = try ServerConfig.parseListen(listen)
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    return MetricsListener(
        host: l.host, port: l.port, store: store, logger: logger, render: { registry.emitToBuffer() },
        readiness: { readiness.reason(store: store) },
        onReady: { host, port in
            if let portFile { writePortFile(portFile, "\(host):\(port)\n") }
        })
}
