import NIOCore
import TroveProtocol

/// What a request produces: one message, or a stream of messages written one frame at a time
/// (only when the socket can take more), which bounds the server's memory per connection.
enum Response {
    case single(Message)
    case stream(ResponseStream)
}

/// A multi-frame response. `next()` runs on a worker thread and builds one frame's message.
protocol ResponseStream: AnyObject {
    /// The next message and whether it is the last frame of the response.
    func next() throws(ServerError) -> (message: Message, last: Bool)
}

/// Streams a list in frames filled up to a byte budget of encoded items (and at most
/// `maxPerFrame` items, what the message's decoder accepts), whatever the items' sizes, so no frame exceeds
/// the negotiated cap. Items come from `source` a page at a time (an empty page ends the list):
/// a long listing is never all in memory.
final class ListStream<Item>: ResponseStream {
    private let budget: Int
    private let maxPerFrame: Int
    private let size: (Item) -> Int
    private let source: () throws(ServerError) -> [Item]
    private let make: ([Item]) -> Message
    private var pending: [Item] = []
    private var position = 0
    private var exhausted = false

    init(
        budget: Int, maxPerFrame: Int = ProtocolLimits.maxListEntriesPerFrame, size: @escaping (Item) -> Int,
        source: @escaping () throws(ServerError) -> [Item], make: @escaping ([Item]) -> Message
    ) {
        self.budget = budget
        self.maxPerFrame = max(1, maxPerFrame)
        self.size = size
        self.source = source
        self.make = make
    }

    /// A list already in memory.
    convenience init(
        _ items: [Item], budget: Int, maxPerFrame: Int = ProtocolLimits.maxListEntriesPerFrame,
        size: @escaping (Item) -> Int, make: @escaping ([Item]) -> Message
    ) {
        var rest: [Item]? = items
        self.init(
            budget: budget, maxPerFrame: maxPerFrame, size: size,
            source: { () throws(ServerError) -> [Item] in
                defer { rest = nil }
                return rest ?? []
            }, make: make)
    }

    /// The next item without taking it; nil at the end.
    private func peek() throws(ServerError) -> Item? {
        while position == pending.count {
            if exhausted { return nil }
            pending = try source()
            position = 0
            if pending.isEmpty { exhausted = true }
        }
        return pending[position]
    }

    func next() throws(ServerError) -> (message: Message, last: Bool) {
        var frame: [Item] = []
        var used = 0
        while frame.count < maxPerFrame, let item = try peek() {
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
            position += 1
        }
        return (make(frame), try peek() == nil)
    }
}

extension ListStream where Item: WireCodable {
    /// Items measured by their encoding.
    convenience init(
        _ items: [Item], budget: Int, maxPerFrame: Int = ProtocolLimits.maxListEntriesPerFrame,
        make: @escaping ([Item]) -> Message
    ) {
        self.init(items, budget: budget, maxPerFrame: maxPerFrame, size: { $0.wireSize }, make: make)
    }

    convenience init(
        budget: Int, source: @escaping () throws(ServerError) -> [Item], make: @escaping ([Item]) -> Message
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
