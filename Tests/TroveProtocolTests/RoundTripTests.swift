import NIOCore
import Testing
import TroveCore
import TroveProtocol

@Suite("Message round trips")
struct RoundTripTests {
    @Test("the examples cover every message type")
    func examplesCoverEveryType() {
        let covered = Set(Message.examples.map(\.type))
        #expect(covered == Set(MessageType.allCases))
    }

    @Test("every message decodes to itself", arguments: Message.examples)
    func payloadRoundTrip(_ message: Message) throws {
        let decoded = try Message.decode(type: message.type, payload: payload(message))
        #expect(decoded == message)
        // Re-encoding is byte-identical (one canonical encoding per value).
        #expect(payload(decoded) == payload(message))
    }

    @Test("every message survives a frame round trip", arguments: Message.examples)
    func frameRoundTrip(_ message: Message) throws {
        var bytes = frameBytes(message, requestID: 0xDEAD_BEEF, flags: .more)
        #expect(bytes.readableBytes == Frame.overhead + payload(message).readableBytes)
        let frame = try #require(try Frame.parse(&bytes, maxPayload: ProtocolLimits.absoluteMaxPayload))
        #expect(bytes.readableBytes == 0)
        #expect(frame.type == message.type)
        #expect(frame.requestID == 0xDEAD_BEEF)
        #expect(frame.flags == .more)
        #expect(try frame.message() == message)
        // Frame(message) and Envelope produce the same bytes.
        var viaFrame = ByteBuffer()
        Frame(message, requestID: 0xDEAD_BEEF, flags: .more).write(into: &viaFrame)
        #expect(viaFrame == frameBytes(message, requestID: 0xDEAD_BEEF, flags: .more))
    }

    @Test("frame layout is the documented one")
    func frameLayout() throws {
        let bytes = frameBytes(.ping(.init(nonce: 0x0102_0304_0506_0708)), requestID: 0x0A0B_0C0D)
        let expectedHead: [UInt8] = [0, 0, 0, 8, 0x03, 0x00, 0x0A, 0x0B, 0x0C, 0x0D, 1, 2, 3, 4, 5, 6, 7, 8]
        #expect(Array(bytes.readableBytesView.prefix(18)) == expectedHead)
        let crc = CRC32C.checksum(expectedHead)
        #expect(bytes.getInteger(at: 18, as: UInt32.self) == crc)
    }

    @Test("BLOB_SEAL and BLOB_SEALED have the documented layout (PROTOCOL.md §6)")
    func blobSealLayout() throws {
        let seal = Message.blobSeal(
            .init(lease: LeaseID(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C_0D0E_0F10), stream: 0x1112_1314,
                size: 0x2122_2324_2526_2728, chunks: 0x3132_3334_3536_3738))
        let bytes = { (r: ClosedRange<UInt8>) in [UInt8](r) }
        let expected = bytes(1...16) + bytes(0x11...0x14) + bytes(0x21...0x28) + bytes(0x31...0x38)
        #expect(Array(payload(seal).readableBytesView) == expected)
        #expect(seal.type.rawValue == 0x1A)
        let digest = try #require(Digest(bytes: bytes(0x40...0x5F)))
        let sealed = Message.blobSealed(.init(blob: digest))
        #expect(Array(payload(sealed).readableBytesView) == bytes(0x40...0x5F))
        #expect(sealed.type.rawValue == 0x9A)
        // A truncated or padded payload is refused.
        var short = payload(seal)
        short.moveWriterIndex(to: short.writerIndex - 1)
        #expect(throws: ProtocolError.self) { try Message.decode(type: .blobSeal, payload: short) }
        var long = payload(sealed)
        long.writeInteger(UInt8(0))
        #expect(throws: ProtocolError.self) { try Message.decode(type: .blobSealed, payload: long) }
    }

    @Test("presence bitmaps of every length up to 70 round-trip with MSB-first bits")
    func bitmap() throws {
        for n in 0...70 {
            let bits = (0..<n).map { ($0 * 7 + n) % 3 == 0 }
            let m = Message.hasResult(.init(present: PresenceBitmap(bits)))
            let p = payload(m)
            #expect(p.readableBytes == 4 + (n + 7) / 8)
            #expect(try Message.decode(type: .hasResult, payload: p) == m)
        }
        var p = payload(.hasResult(.init(present: PresenceBitmap([true, false, false]))))
        #expect(p.getInteger(at: 4, as: UInt8.self) == 0x80)
        p.setInteger(0x90 as UInt8, at: 4)  // a padding bit set
        #expect(throws: ProtocolError.self) { try Message.decode(type: .hasResult, payload: p) }
    }

    @Test("unknown error codes survive as .unknown and map to exit 1")
    func errorCodes() {
        for code in ErrorCode.allDefined {
            #expect(ErrorCode(rawValue: code.rawValue) == code)
        }
        #expect(Set(ErrorCode.allDefined.map(\.rawValue)).count == ErrorCode.allDefined.count)
        #expect(ErrorCode(rawValue: 4242) == .unknown(4242))
        #expect(ErrorCode.unknown(4242).exitCode == 1)
        #expect(!ErrorCode.unknown(4242).isRetryable)
        #expect(ErrorCode.notFound.exitCode == 3)
        #expect(ErrorCode.conflict.exitCode == 4)
        #expect(ErrorCode.staleExpectation.exitCode == 4)
        #expect(ErrorCode.integrity.exitCode == 5)
        #expect(ErrorCode.permissionDenied.exitCode == 6)
        #expect(ErrorCode.authFailed.exitCode == 6)
        #expect(ErrorCode.busy.isRetryable)
        #expect(!ErrorCode.conflict.isRetryable)
    }

    @Test("preamble negotiation picks the highest common version")
    func preamble() throws {
        let p = Preamble(versions: 1...3)
        #expect(try Preamble.decode(p.encoded) == p)
        #expect(Array(p.encoded.readableBytesView) == Array("TROVE".utf8) + [1, 3, 0])
        #expect(try p.negotiate(with: Preamble(versions: 2...5)) == 3)
        #expect(try Preamble(versions: 1...1).negotiate(with: .current) == 1)
        let e = protocolError { () throws(ProtocolError) in
            try Preamble(versions: 1...1).negotiate(with: Preamble(versions: 2...2))
        }
        #expect(e == .unsupportedVersion(local: 1...1, peer: 2...2))
    }

    @Test("lease ids print and parse as 32 hex digits")
    func leaseHex() {
        let l = LeaseID(high: 1, low: 0xFF)
        #expect(l.description == "0000000000000001" + "00000000000000ff")
        #expect(LeaseID(hex: l.description) == l)
        #expect(LeaseID(hex: "xyz") == nil)
        #expect(LeaseID.random() != LeaseID.random())
    }

    @Test("every request has response types and a scope rule; responses have neither")
    func requestTable() {
        for t in MessageType.allCases {
            if t.isRequest {
                #expect(!t.responseTypes.isEmpty, "\(t)")
                #expect(t.responseTypes.allSatisfy { !$0.isRequest })
                #expect((t.requiredScope == nil) == [.hello, .auth, .ping].contains(t), "\(t)")
            } else {
                #expect(t.responseTypes.isEmpty)
                #expect(t.requiredScope == nil)
            }
        }
        #expect(MessageType.commit.responseTypes == [.commitOK, .commitMissing])
        #expect(MessageType.gc.requiredScope == .admin)
        #expect(MessageType.aliasSet.requiredScope == .write)
    }

    @Test("error replies take their retryable flag from the code and stay within the limit")
    func errorReply() throws {
        let busy = Message.ErrorReply(.busy, "a GC is running; retry later")
        #expect(busy.retryable)
        let long = Message.ErrorReply(.internalError, String(repeating: "é", count: 5000))
        #expect(!long.retryable)
        let m = Message.error(long)
        #expect(try Message.decode(type: .error, payload: payload(m)) == m)
        let fromProtocol = Message.ErrorReply(ProtocolError.unknownMessageType(0x77))
        #expect(fromProtocol.code == .protocolViolation)
    }
}
