import Synchronization
import Testing
import TroveCore
import TroveProtocol

@testable import TroveServer

/// Multi-frame responses are packed by bytes: every frame within the budget, every item once, in
/// order, whatever the item sizes and however the source pages them.
@Suite("List streams")
struct ListStreamTests {
    /// Drains a stream: the frames' items and the `last` flags.
    func drain(_ stream: ListStream<AliasEvent>) throws -> (frames: [[AliasEvent]], lasts: [Bool]) {
        var frames: [[AliasEvent]] = []
        var lasts: [Bool] = []
        while lasts.last != true {
            let (message, last) = try stream.next()
            guard let m = message.as(Message.AliasHistoryList.self) else {
                Issue.record("unexpected \(message.type)")
                break
            }
            frames.append(m.events)
            lasts.append(last)
        }
        return (frames, lasts)
    }

    func event(_ i: Int, size: Int) -> AliasEvent {
        AliasEvent(alias: "a\(i)", from: String(repeating: "ü", count: size / 2), to: "v\(i)", at: Int64(i), by: "t")
    }

    @Test("frames stay within the budget for mixed sizes, from one list or from pages")
    func packsByBytes() throws {
        var rng = SplitMix64(seed: 7)
        let items = (0..<500).map { event($0, size: Int(rng.next() % 3000)) }
        let budget = 10_000
        for pageSize in [0, 1, 13, 500] {
            let stream: ListStream<AliasEvent>
            if pageSize == 0 {
                stream = ListStream(items, budget: budget) { .aliasHistoryList(.init(events: $0)) }
            } else {
                let rest = Mutex(items[...])
                stream = ListStream(
                    budget: budget,
                    source: { () throws(ServerError) in
                        rest.withLock { r in
                            defer { r = r.dropFirst(pageSize) }
                            return Array(r.prefix(pageSize))
                        }
                    }
                ) { .aliasHistoryList(.init(events: $0)) }
            }
            let (frames, lasts) = try drain(stream)
            #expect(frames.flatMap { $0 } == items, "page size \(pageSize)")
            #expect(lasts.dropLast().allSatisfy { !$0 })
            for f in frames {
                #expect(!f.isEmpty)
                #expect(f.map(\.wireSize).reduce(0, +) <= budget)
            }
            // Frames are filled: any two neighbours hold more than one budget's worth.
            let total = items.map(\.wireSize).reduce(0, +)
            #expect(frames.count >= total / budget && frames.count <= 2 * total / budget + 1)
        }
    }

    @Test("an empty list is one empty, last frame; an item larger than a frame is a clear error")
    func edges() throws {
        let (frames, lasts) = try drain(ListStream([], budget: 100) { .aliasHistoryList(.init(events: $0)) })
        #expect(frames == [[]] && lasts == [true])
        let big = ListStream([event(1, size: 400)], budget: 100) { .aliasHistoryList(.init(events: $0)) }
        #expect(throws: ServerError.self) { _ = try big.next() }
    }

    @Test("a count cap per frame holds even when bytes would allow more")
    func countCap() throws {
        let items = (0..<10).map { event($0, size: 2) }
        let stream = ListStream(items, budget: 1 << 20, maxPerFrame: 3) { .aliasHistoryList(.init(events: $0)) }
        let (frames, _) = try drain(stream)
        #expect(frames.map(\.count) == [3, 3, 3, 1])
    }
}
