import NIOCore
import TroveProtocol

/// Keeps up to `limit` requests outstanding on a connection (pipelining) and runs each
/// response's handler, in request order, as it is collected. A response is released as soon as
/// its handler has run, so memory is bounded by the window, not by the transfer.
///
/// Not thread-safe: use from one thread.
struct RequestWindow {
    let connection: Connection
    let limit: Int
    private var inFlight = CircularBuffer<(PendingResponse, ([Message]) throws(ClientError) -> Void)>()

    init(connection: Connection, limit: Int) {
        self.connection = connection
        self.limit = max(1, min(limit, Int(connection.limits.maxInFlight)))
    }

    /// Number of requests sent and not yet handled.
    var outstanding: Int { inFlight.count }

    /// Sends `message`; when the window is full, first waits for (and handles) the oldest response.
    mutating func send(
        _ message: Message, transform: ResponseTransform? = nil,
        _ handler: @escaping ([Message]) throws(ClientError) -> Void
    ) throws(ClientError) {
        while outstanding >= limit { try completeOldest() }
        inFlight.append((connection.send(message, transform: transform), handler))
    }

    /// Waits for and handles the oldest outstanding response.
    mutating func completeOldest() throws(ClientError) {
        guard let (pending, handler) = inFlight.popFirst() else { return }
        let frames = try pending.wait()
        try handler(frames)
    }

    /// Waits for and handles every outstanding response.
    mutating func drain() throws(ClientError) {
        while outstanding > 0 { try completeOldest() }
    }
}
