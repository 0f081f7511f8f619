import NIOCore
import TroveProtocol

/// Keeps up to `limit` requests outstanding on a connection (pipelining) and runs each
/// response's handler, in request order, as it is collected. A response is released as soon as
/// its handler has run, so memory is bounded by the window, not by the transfer.
///
/// Not thread-safe: use from one thread (it blocks that thread while it waits for a reply).
struct RequestWindow {
    let connection: Connection
    let limit: Int
    /// Per outstanding request: wait for its reply and run its handler.
    private var inFlight = CircularBuffer<() -> Result<Void, ClientError>>()

    init(connection: Connection, limit: Int) {
        self.connection = connection
        self.limit = max(1, min(limit, Int(connection.limits.maxInFlight)))
    }

    /// Number of requests sent and not yet handled.
    var outstanding: Int { inFlight.count }

    /// Sends `request`; when the window is full, first waits for (and handles) the oldest response.
    mutating func send<R: WireRequest>(
        _ request: R, transform: ResponseTransform? = nil, dataChecksums: [UInt32?] = [],
        _ handler: @escaping (R.Reply) throws(ClientError) -> Void
    ) throws(ClientError) {
        while outstanding >= limit { try completeOldest() }
        let pending = connection.send(request, transform: transform, dataChecksums: dataChecksums)
        inFlight.append {
            do throws(ClientError) {
                return .success(try handler(try pending.wait()))
            } catch {
                return .failure(error)
            }
        }
    }

    /// Waits for and handles the oldest outstanding response.
    mutating func completeOldest() throws(ClientError) {
        guard let complete = inFlight.popFirst() else { return }
        try complete().get()
    }

    /// Waits for and handles every outstanding response.
    mutating func drain() throws(ClientError) {
        while outstanding > 0 { try completeOldest() }
    }
}
