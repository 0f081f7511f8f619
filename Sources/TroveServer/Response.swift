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

/// Streams a list already in memory in pieces of at most `perFrame` items.
final class ListStream<Item>: ResponseStream {
    private let items: [Item]
    private let perFrame: Int
    private let make: ([Item]) -> Message
    private var position = 0

    init(_ items: [Item], perFrame: Int, make: @escaping ([Item]) -> Message) {
        self.items = items
        self.perFrame = max(1, perFrame)
        self.make = make
    }

    func next() throws(ServerError) -> (message: Message, last: Bool) {
        let end = min(items.count, position + perFrame)
        let slice = Array(items[position..<end])
        position = end
        return (make(slice), position >= items.count)
    }
}
