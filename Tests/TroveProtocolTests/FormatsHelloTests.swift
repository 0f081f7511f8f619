import NIOCore
import Testing
import TroveCore
import TroveProtocol

@Suite("HELLO_OK format policy")
struct FormatsHelloTests {
    static func hello(_ formats: FormatPolicy) -> Message.HelloOK {
        Message.HelloOK(
            server: "troved/t", storeID: "s", chunkMin: 16 << 10, chunkAvg: 64 << 10, chunkMax: 256 << 10,
            normalization: 1, preferredCodec: .zstd, codecs: [.raw], limits: .default,
            serverNonce: Array(0..<32), authRequired: false, formats: formats)
    }

    @Test func everyPolicyRoundTrips() throws {
        for formats in [
            FormatPolicy.none, .auto, FormatPolicy(formats: [.zip]),
            FormatPolicy(formats: [.safetensors, .tar]),
        ] {
            var b = ByteBuffer()
            Self.hello(formats).encode(into: &b)
            var r = WireReader(b)
            let back = try Message.HelloOK(from: &r)
            #expect(back.formats == formats)
            #expect(r.remaining == 0)
        }
    }

    @Test func unknownFormatBitsAreRefused() throws {
        var b = ByteBuffer()
        Self.hello(.auto).encode(into: &b)
        var bytes = Array(b.readableBytesView)
        #expect(bytes.last == 7)
        for bad: UInt8 in [8, 0x80, 0xFF] {
            bytes[bytes.count - 1] = bad
            var r = WireReader(ByteBuffer(bytes: bytes))
            #expect(throws: ProtocolError.self) { try Message.HelloOK(from: &r) }
        }
    }
}
