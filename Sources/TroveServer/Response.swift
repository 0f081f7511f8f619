import NIOCore
import Synchronization
import TroveProtocol

/// What a request produces: one message, or a stream of messages written one frame at a time
/// (built at most one frame ahead of what the socket has taken), which bounds the server's
/// memory per connection.
enum Response: Sendable {
    case single(Message)
    case stream(ResponseStream)
}

/// A multi-frame response. `next()` runs on a worker thread and builds one frame's message;
/// successive calls may run on different workers, never at the same time.
protocol ResponseStream: AnyObject, Sendable {
    /// The next message and whether it is the last frame of the response.
    func next() throws(ServerError) -> (message: Message, last: Bool)
    /// The next frame, encoded, and whether it is the last of the response (an ERROR frame in
    /// place of one over the cap is the last). By default `next()`'s message through `encoder`; a
    /// stream may write its frames more directly (``ChunkFrames``).
    func nextFrame(requestID: UInt32, encoder: OutboundFrames) throws(ServerError) -> (bytes: ByteBuffer, last: Bool)
}

extension ResponseStream {
    func nextFrame(requestID: UInt32, encoder: OutboundFrames) throws(ServerError) -> (bytes: ByteBuffer, last: Bool) {
        let (m, last) = try next()
        let (bytes, fits) = encoder.encode(Envelope(m, requestID: requestID, flags: last ? [] : .more))
        return (bytes, last || !fits)
    }
}

/// Streams a list in frames filled up to a byte budget of encoded items (and at most
/// `maxPerFrame` items, what the message's decoder accepts), whatever the items' sizes, so no
/// frame exceeds the negotiated cap. Items come from `source` a page at a time (an empty page
/// ends the list): a long listing is never all in memory.
final class ListStream<Item: Sendable>: ResponseStream {
    private struct Cursor {
        var pending: [Item]
        var position = 0
        var exhausted: Bool
    }

    private let budget: Int
    private let maxPerFrame: Int
    private let size: @Sendable (Item) -> Int
    private let source: @Sendable () throws(ServerError) -> [Item]
    private let make: @Sendable ([Item]) -> Message
    /// Items fetched and not yet sent.
    private let cursor: Mutex<Cursor>

    convenience init(
        budget: Int, maxPerFrame: Int = ProtocolLimits.maxListEntriesPerFrame,
        size: @escaping @Sendable (Item) -> Int, source: @escaping @Sendable () throws(ServerError) -> [Item],
        make: @escaping @Sendable ([Item]) -> Message
    ) {
        self.init(budget, maxPerFrame, size, source, make, initial: [], exhausted: false)
    }

    /// A list already in memory.
    convenience init(
        _ items: [Item], budget: Int, maxPerFrame: Int = ProtocolLimits.maxListEntriesPerFrame,
        size: @escaping @Sendable (Item) -> Int, make: @escaping @Sendable ([Item]) -> Message
    ) {
        self.init(budget, maxPerFrame, size, { [] }, make, initial: items, exhausted: true)
    }

    private init(
        _ budget: Int, _ maxPerFrame: Int, _ size: @escaping @Sendable (Item) -> Int,
        _ source: @escaping @Sendable () throws(ServerError) -> [Item],
        _ make: @escaping @Sendable ([Item]) -> Message, initial: [Item], exhausted: Bool
    ) {
        self.budget = budget
        self.maxPerFrame = max(1, maxPerFrame)
        self.size = size
        self.source = source
        self.make = make
        cursor = Mutex(Cursor(pending: initial, exhausted: exhausted))
    }

    func next() throws(ServerError) -> (message: Message, last: Bool) {
        let (frame, last) = try cursor.withLock { (c) throws(ServerError) -> ([Item], Bool) in
            var frame: [Item] = []
            var used = 0
            while frame.count < maxPerFrame, let item = try peek(&c) {
                let n = size(item)
                guard n <= budget else {
                    throw ServerError(
                        .limitExceeded,
                        "one list entry is \(n) bytes, more than a frame of \(budget) bytes can carry; "
                            + "raise limits.max_frame in the server's config")
                }
                if used + n > budget { break }
                frame.append(item)
                used += n
                c.position += 1
            }
            return (frame, try peek(&c) == nil)
        }
        return (make(frame), last)
    }

    /// The next item without taking it; nil at the end.
    private func peek(_ c: inout Cursor) throws(ServerError) -> Item? {
        while c.position == c.pending.count {
            if c.exhausted { return nil }
            c.pending = try source()
            c.position = 0
            if c.pending.isEmpty { c.exhausted = true }
        }
        return c.pending[c.position]
    }
}

extension ListStream where Item: WireCodable {
    /// Items measured by their encoding.
    convenience init(
        _ items: [Item], budget: Int, maxPerFrame: Int = ProtocolLimits.maxListEntriesPerFrame,
        make: @escaping @Sendable ([Item]) -> Message
    ) {
        self.init(items, budget: budget, maxPerFrame: maxPerFrame, size: { $0.wireSize }, make: make)
    }

    convenience init(
        budget: Int, source: @escaping @Sendable () throws(ServerError) -> [Item],
        make: @escaping @Sendable ([Item]) -> Message
    ) {
        self.init(budget: budget, size: { $0.wireSize }, source: source, make: make)
    }
}

extension WireCodable {
    /// Bytes of the encoding.
    var wireSize: Int {
        var b = ByteBuffer()
        encode(into: &b)
        return b.readableBytes
    }
}

extension RequestRouter {
    /// Bytes of list entries per frame: the negotiated frame cap less room for the message's own
    /// fields (type, counts).
    var listBudget: Int { Int(limits.maxFramePayload) - 1024 }
}
