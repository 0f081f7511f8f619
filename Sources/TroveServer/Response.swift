import Synchronization
import TroveProtocol

/// What a request produces: one message, or a stream of messages written one frame at a time
/// (only when the socket can take more), which bounds the server's memory per connection.
enum Response: Sendable {
    case single(Message)
    case stream(ResponseStream)
}

/// A multi-frame response. `next()` runs on a worker thread and builds one frame's message;
/// successive calls may run on different workers, never at the same time.
protocol ResponseStream: AnyObject, Sendable {
    /// The next message and whether it is the last frame of the response.
    func next() throws(ServerError) -> (message: Message, last: Bool)
}

/// Streams a list already in memory in pieces of at most `perFrame` items.
final class ListStream<Item: Sendable>: ResponseStream {
    private let items: [Item]
    private let perFrame: Int
    private let make: @Sendable ([Item]) -> Message
    /// Items sent so far.
    private let position = Mutex(0)

    init(_ items: [Item], perFrame: Int, make: @escaping @Sendable ([Item]) -> Message) {
        self.items = items
        self.perFrame = max(1, perFrame)
        self.make = make
    }

    func next() throws(ServerError) -> (message: Message, last: Bool) {
        let (start, end) = position.withLock { p in
            let start = p
            p = min(items.count, p + perFrame)
            return (start, p)
        }
        return (make(Array(items[start..<end])), end >= items.count)
    }
}
