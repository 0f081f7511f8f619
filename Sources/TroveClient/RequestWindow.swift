import TroveProtocol

/// Keeps up to `limit` requests outstanding on a connection (pipelining) and runs each
/// response's handler, in request order, as it is collected.
///
/// Not thread-safe: use from one thread.
struct RequestWindow {
    let connection: Connection
    let limit: Int
    private var inFlight: [(PendingResponse, ([Message]) throws(ClientError) -> Void)] = []
    private var head = 0

    init(connection: Connection, limit: Int) {
        self.connection = connection
        self.limit = max(1, min(limit, Int(connection.limits.maxInFlight)))
    }

    /// Number of requests sent and not yet handled.
    var outstanding: Int { inFlight.count - head }

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
        guard outstanding > 0 else { return }
        let (pending, handler) = inFlight[head]
        head += 1
        if head > 64, head * 2 > inFlight.count {
            inFlight.removeFirst(head)
            head = 0
        }
        let frames = try pending.wait()
        try handler(frames)
    }

    /// Waits for and handles every outstanding response.
    mutating func drain() throws(ClientError) {
        while outstanding > 0 { try completeOldest() }
    }
}
