import NIOCore
import Testing
import TroveCore
import TroveProtocol

@Suite("Hostile frames and payloads")
struct HostileFrameTests {
    @Test("a length over the cap fails from the header alone, before the payload arrives")
    func lengthOverCap() {
        var b = ByteBuffer()
        b.writeInteger(UInt32(4097))
        b.writeBytes([0x01, 0, 0, 0, 0, 1])  // HELLO, no flags, request 1; no payload follows
        let e = protocolError { () throws(ProtocolError) in
            try Frame.parse(&b, maxPayload: ProtocolLimits.preAuthMaxPayload)
        }
        #expect(e == .frameTooLarge(length: 4097, limit: 4096))
        var huge = ByteBuffer()
        huge.writeInteger(UInt32.max)
        huge.writeBytes([0x01, 0, 0, 0, 0, 1])
        let e2 = protocolError { () throws(ProtocolError) in
            try Frame.parse(&huge, maxPayload: ProtocolLimits.absoluteMaxPayload)
        }
        #expect(e2 == .frameTooLarge(length: Int(UInt32.max), limit: ProtocolLimits.absoluteMaxPayload))
    }

    @Test("a payload exactly at the cap is accepted")
    func lengthAtCap() throws {
        var b = rawFrame(type: 0x01, payload: Array(repeating: 0, count: 4096))
        let f = try #require(try Frame.parse(&b, maxPayload: 4096))
        #expect(f.payload.readableBytes == 4096)
    }

    @Test("the decoder's cap follows FrameCodecState (raised after authentication)")
    func capFollowsState() throws {
        let state = FrameCodecState()
        var decoder = FrameDecoder(state: state, expectPreamble: false)
        var frame = rawFrame(type: 0x03, payload: Array(repeating: 0, count: 5000))
        #expect(throws: ProtocolError.frameTooLarge(length: 5000, limit: 4096)) {
            try decoder.next(&frame)
        }
        state.maxPayload = ProtocolLimits.defaultMaxPayload
        var decoder2 = FrameDecoder(state: state, expectPreamble: false)
        var again = rawFrame(type: 0x03, payload: Array(repeating: 0, count: 5000))
        #expect(try decoder2.next(&again)?.payload.readableBytes == 5000)
    }

    @Test(
        "unknown message types are refused from the header", arguments: [0x00, 0x04, 0x7F, 0x80, 0xA4, 0xFE])
    func unknownType(_ type: UInt8) {
        var b = ByteBuffer()
        b.writeInteger(UInt32(10))
        b.writeBytes([type, 0, 0, 0, 0, 1])
        #expect(
            protocolError { () throws(ProtocolError) in try Frame.parse(&b, maxPayload: 4096) }
                == .unknownMessageType(type))
    }

    @Test("reserved flag bits are refused", arguments: [0x02, 0x04, 0x80, 0xFF] as [UInt8])
    func reservedFlags(_ flags: UInt8) {
        var b = rawFrame(type: 0x03, flags: flags, payload: Array(repeating: 0, count: 8))
        #expect(
            protocolError { () throws(ProtocolError) in try Frame.parse(&b, maxPayload: 4096) }
                == .reservedFlags(flags))
    }

    @Test("flipping any bit of a frame never yields a different frame")
    func bitFlips() throws {
        let original = frameBytes(.getRef(.init(ref: "models/churn:prod")), requestID: 3)
        let bytes = Array(original.readableBytesView)
        for i in bytes.indices {
            for bit in 0..<8 {
                var mutated = bytes
                mutated[i] ^= 1 << bit
                var b = ByteBuffer(bytes: mutated)
                do {
                    let f = try Frame.parse(&b, maxPayload: 4096)
                    // Only a longer length can make the parser wait; it never accepts the change.
                    #expect(f == nil, "flip of bit \(bit) in byte \(i) was accepted")
                } catch {
                    // A typed error: the connection is closed.
                }
            }
        }
    }

    @Test("a bad checksum is reported with both values")
    func badChecksum() {
        var b = frameBytes(.ping(.init(nonce: 9)))
        let last = b.writerIndex - 1
        b.setInteger(b.getInteger(at: last, as: UInt8.self)! ^ 0x01, at: last)
        let e = protocolError { () throws(ProtocolError) in try Frame.parse(&b, maxPayload: 4096) }
        guard case .badChecksum(let expected, let actual) = e else {
            Issue.record("expected badChecksum, got \(String(describing: e))")
            return
        }
        #expect(expected ^ actual == 1)
    }

    @Test("every truncation of every message is refused", arguments: Message.examples)
    func truncations(_ message: Message) {
        let full = payload(message)
        for n in 0..<full.readableBytes {
            let cut = full.getSlice(at: full.readerIndex, length: n)!
            #expect(throws: ProtocolError.self) { try Message.decode(type: message.type, payload: cut) }
        }
    }

    @Test("trailing bytes after a message are refused", arguments: Message.examples)
    func trailing(_ message: Message) {
        var p = payload(message)
        p.writeInteger(0 as UInt8)
        #expect(throws: ProtocolError.trailingBytes(message: message.type.description, count: 1)) {
            try Message.decode(type: message.type, payload: p)
        }
    }

    @Test("a payload of one message type is not accepted as another")
    func wrongType() {
        // STAT (like BUCKET_LIST and LEASE_LIST) is empty, so any payload with bytes fails it; and an empty
        // payload fails every type that has a field.
        let empty = Message.examples.filter { payload($0).readableBytes == 0 }.map(\.type)
        #expect(Set(empty) == [.stat, .bucketList, .leaseList])
        for m in Message.examples where !empty.contains(m.type) {
            #expect(throws: ProtocolError.self) { try Message.decode(type: .stat, payload: payload(m)) }
            #expect(throws: ProtocolError.self) { try Message.decode(type: m.type, payload: ByteBuffer()) }
        }
    }

    @Test("a count larger than its limit is refused before reading elements")
    func countOverLimit() {
        var p = ByteBuffer()
        p.writeBytes(Array(repeating: 0, count: 16))  // lease
        p.writeInteger(0 as UInt8)  // kind chunk
        p.writeInteger(UInt32.max)  // count
        #expect(
            protocolError { () throws(ProtocolError) in try Message.decode(type: .has, payload: p) }
                == .countTooLarge(field: "Has.digests", count: Int(UInt32.max), limit: 65_536))
    }

    @Test("a count within its limit but larger than the payload can hold is refused")
    func countOverPayload() {
        var p = ByteBuffer()
        p.writeInteger(60_000 as UInt32)  // GET_CHUNKS with 60 000 digests
        p.writeBytes(Array(repeating: 0xAB, count: 64))  // but only 2 digests of bytes
        #expect(
            protocolError { () throws(ProtocolError) in try Message.decode(type: .getChunks, payload: p) }
                == .countTooLarge(field: "GetChunks.digests", count: 60_000, limit: 2))
        // Lists of records use the record's smallest size: 1000 VersionInfo cannot fit in 100 bytes.
        var v = ByteBuffer()
        v.writeInteger(1000 as UInt32)
        v.writeBytes(Array(repeating: 0, count: 100))
        #expect(throws: ProtocolError.self) { try Message.decode(type: .versionList, payload: v) }
    }

    @Test("a string longer than its limit is refused even when the bytes are there")
    func longString() {
        var p = ByteBuffer()
        p.writeInteger(600 as UInt32)
        p.writeBytes(Array(repeating: UInt8(ascii: "a"), count: 600))
        #expect(
            protocolError { () throws(ProtocolError) in try Message.decode(type: .getRef, payload: p) }
                == .fieldTooLong(field: "GetRef.ref", length: 600, limit: 512))
    }

    @Test("a string length beyond the payload is refused")
    func stringPastEnd() {
        var p = ByteBuffer()
        p.writeInteger(100 as UInt32)
        p.writeBytes(Array("abc".utf8))
        #expect(
            protocolError { () throws(ProtocolError) in try Message.decode(type: .getRef, payload: p) }
                == .truncated(field: "GetRef.ref", needed: 100, available: 3))
    }

    @Test("invalid UTF-8 is refused")
    func invalidUTF8() {
        var p = ByteBuffer()
        p.writeInteger(2 as UInt32)
        p.writeBytes([0xC3, 0x28])
        #expect(
            protocolError { () throws(ProtocolError) in try Message.decode(type: .getRef, payload: p) }
                == .invalidUTF8(field: "GetRef.ref"))
    }

    @Test("booleans other than 0 and 1 are refused")
    func badBool() {
        var p = ByteBuffer()
        p.writeInteger(2 as UInt8)
        #expect(throws: ProtocolError.self) { try Message.decode(type: .pushEnded, payload: p) }
    }

    @Test("unknown enum codes are refused")
    func unknownEnums() {
        func expectInvalid(_ type: MessageType, _ bytes: [UInt8]) {
            #expect(throws: ProtocolError.self) {
                try Message.decode(type: type, payload: ByteBuffer(bytes: bytes))
            }
        }
        let lease = [UInt8](repeating: 0, count: 16)
        expectInvalid(.has, lease + [3, 0, 0, 0, 0])  // kind 3
        expectInvalid(.getObjects, [0, 0, 0, 0, 0])  // kind chunk where an object is needed
        expectInvalid(.scrub, [3] + [UInt8](repeating: 0, count: 9))  // scrub mode 3
        expectInvalid(.scrub, [1, 0, 0, 0, 0, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 9))  // slice 0/1
        expectInvalid(.scrub, [1, 0, 0, 0, 3, 0, 0, 0, 2] + [UInt8](repeating: 0, count: 9))  // slice 3/2
        expectInvalid(.gcReport, [7, 0, 0, 0, 0])  // report status 7
        expectInvalid(.aliasRemove, [0, 0, 0, 1, 0x61, 0, 0, 0, 1, 0x62, 9])  // expectation tag 9
    }

    @Test("chunk payloads must agree with their raw length and codec")
    func chunkLengths() {
        func chunks(rawLength: UInt32, codec: UInt8, data: Int) -> ByteBuffer {
            var p = ByteBuffer()
            p.writeInteger(1 as UInt32)
            p.writeBytes([UInt8](repeating: 1, count: 32))
            p.writeInteger(rawLength)
            p.writeInteger(codec)
            p.writeInteger(UInt32(data))
            p.writeBytes([UInt8](repeating: 2, count: data))
            p.writeInteger(0 as UInt32)  // no missing
            return p
        }
        #expect(throws: Never.self) {
            try Message.decode(type: .chunks, payload: chunks(rawLength: 10, codec: 0, data: 10))
        }
        #expect(throws: Never.self) {
            try Message.decode(type: .chunks, payload: chunks(rawLength: 10, codec: 1, data: 9))
        }
        #expect(throws: ProtocolError.self) {
            try Message.decode(type: .chunks, payload: chunks(rawLength: 10, codec: 0, data: 9))
        }
        #expect(throws: ProtocolError.self) {
            try Message.decode(type: .chunks, payload: chunks(rawLength: 10, codec: 2, data: 11))
        }
        #expect(throws: ProtocolError.self) {
            try Message.decode(type: .chunks, payload: chunks(rawLength: 0, codec: 0, data: 0))
        }
        #expect(throws: ProtocolError.self) {
            try Message.decode(type: .chunks, payload: chunks(rawLength: 1 << 30, codec: 1, data: 1))
        }
        #expect(throws: ProtocolError.self) {
            try Message.decode(type: .chunks, payload: chunks(rawLength: 10, codec: 9, data: 1))
        }
    }

    @Test("object parts may not run past their object or exceed 1 TiB")
    func objectParts() {
        func part(total: UInt64, offset: UInt64, data: Int) -> ByteBuffer {
            var p = ByteBuffer()
            p.writeInteger(1 as UInt32)
            p.writeInteger(2 as UInt8)
            p.writeBytes([UInt8](repeating: 1, count: 32))
            p.writeInteger(total)
            p.writeInteger(offset)
            p.writeInteger(UInt32(data))
            p.writeBytes([UInt8](repeating: 2, count: data))
            p.writeInteger(0 as UInt32)
            return p
        }
        #expect(throws: Never.self) {
            try Message.decode(type: .objects, payload: part(total: 10, offset: 6, data: 4))
        }
        #expect(throws: ProtocolError.self) {
            try Message.decode(type: .objects, payload: part(total: 10, offset: 7, data: 4))
        }
        #expect(throws: ProtocolError.self) {
            try Message.decode(type: .objects, payload: part(total: 10, offset: 11, data: 0))
        }
        #expect(throws: ProtocolError.self) {
            try Message.decode(
                type: .objects, payload: part(total: UInt64.max, offset: UInt64.max - 1, data: 4))
        }
    }

    @Test("non-finite metadata numbers are refused")
    func nonFinite() {
        var p = ByteBuffer()
        p.writeInteger(1 as UInt32)  // one version
        let info = VersionInfo(
            name: "a", version: "1", tree: .zero, createdAt: 0, creator: nil, message: "",
            metadata: [MetadataEntry(key: "k", value: .number(1))], parents: [], retired: false, aliases: [])
        info.encode(into: &p)
        let good = p
        #expect(throws: Never.self) { try Message.decode(type: .versionList, payload: good) }
        // Replace the double's bit pattern (right after tag 2) with NaN.
        let bytes = Array(p.readableBytesView)
        let tagIndex = bytes.indices.first { i in
            i + 9 <= bytes.count && bytes[i] == 2
                && Array(bytes[(i + 1)..<(i + 9)])
                    == withUnsafeBytes(
                        of: Double(1).bitPattern.bigEndian, Array.init)
        }!
        var bad = bytes
        bad.replaceSubrange(
            (tagIndex + 1)..<(tagIndex + 9),
            with: withUnsafeBytes(of: Double.nan.bitPattern.bigEndian, Array.init))
        #expect(throws: ProtocolError.self) {
            try Message.decode(type: .versionList, payload: ByteBuffer(bytes: bad))
        }
    }

    @Test("preambles with a wrong magic or impossible range are refused")
    func badPreambles() {
        let state = FrameCodecState()
        for bytes: [UInt8] in [
            Array("GET / HT".utf8), Array("TROVX".utf8) + [1, 1, 0], Array("TROVE".utf8) + [0, 1, 0],
            Array("TROVE".utf8) + [3, 2, 0],
        ] {
            var d = FrameDecoder(state: state)
            var b = ByteBuffer(bytes: bytes)
            #expect(throws: ProtocolError.self) { try d.next(&b) }
        }
        // A wrong magic is caught from its first byte, without waiting for eight.
        var d = FrameDecoder(state: state)
        var one = ByteBuffer(bytes: [UInt8(ascii: "G")])
        #expect(throws: ProtocolError.self) { try d.next(&one) }
        // A version the peer does not share.
        var d2 = FrameDecoder(state: state)
        var future = Preamble(versions: 5...9).encoded
        #expect(throws: ProtocolError.unsupportedVersion(local: Preamble.current.versions, peer: 5...9)) { try d2.next(&future) }
    }

    @Test("a version-3 message on a connection that negotiated version 2 is an unknown type")
    func versionThreeTypesAreUnknownOnVersionTwoConnections() throws {
        let lease = LeaseID(high: 1, low: 2)
        for (peer, accepted) in [(Preamble(versions: 1...2), false), (Preamble(versions: 2...3), true)] {
            var d = FrameDecoder(state: FrameCodecState(maxPayload: ProtocolLimits.absoluteMaxPayload))
            var b = peer.encoded
            Envelope(.blobSeal(.init(lease: lease, stream: 1, size: 0, chunks: 0)), requestID: 1).write(into: &b)
            if accepted {
                #expect(try d.next(&b)?.type == .blobSeal)
            } else {
                #expect(throws: ProtocolError.unknownMessageType(MessageType.blobSeal.rawValue)) { try d.next(&b) }
            }
        }
        #expect(MessageType.allCases.filter { $0.sinceVersion > 2 } == [.blobSeal, .blobSealed])
    }

    @Test("a version-2 message on a connection that negotiated version 1 is an unknown type")
    func laterVersionTypesAreUnknownOnOlderConnections() throws {
        let lease = LeaseID(high: 1, low: 2)
        for (peer, accepted) in [(Preamble(versions: 1...1), false), (Preamble(versions: 1...2), true)] {
            var d = FrameDecoder(state: FrameCodecState(maxPayload: ProtocolLimits.absoluteMaxPayload))
            var b = peer.encoded
            Envelope(.blobOpen(.init(lease: lease, stream: 1)), requestID: 1).write(into: &b)
            var a = FrameAssembler(state: FrameCodecState(maxPayload: ProtocolLimits.absoluteMaxPayload))
            var types: [MessageType] = []
            let whole = b
            if accepted {
                #expect(try d.next(&b)?.type == .blobOpen)
                try a.feed(whole) { types.append($0.type) }
                #expect(types == [.blobOpen])
            } else {
                #expect(throws: ProtocolError.unknownMessageType(MessageType.blobOpen.rawValue)) { try d.next(&b) }
                #expect(throws: ProtocolError.unknownMessageType(MessageType.blobOpen.rawValue)) {
                    try a.feed(whole) { types.append($0.type) }
                }
            }
        }
        #expect(MessageType.allCases.filter { $0.sinceVersion > 1 }.count == 8)
        #expect(MessageType.allCases.allSatisfy { $0.sinceVersion <= Preamble.current.versions.upperBound })
    }
}
