import Foundation
import Testing
import TroveClient
import TroveProtocol

@Suite("trove diff: metadata")
struct MetadataDiffTests {
    @Test func comparesKeysAndNumbersWithDeltaAndRelativeChange() {
        let a: [MetadataEntry] = [
            .init(key: "auc", value: .number(0.912)), .init(key: "epochs", value: .integer(12)),
            .init(key: "git", value: .string("abc123")), .init(key: "old", value: .bool(true)),
            .init(key: "rows", value: .integer(0)), .init(key: "same", value: .string("x")),
            .init(key: "steps", value: .string("12")),
        ]
        let b: [MetadataEntry] = [
            .init(key: "auc", value: .number(0.931)), .init(key: "epochs", value: .integer(9)),
            .init(key: "git", value: .string("def456")), .init(key: "lr", value: .number(0.001)),
            .init(key: "rows", value: .integer(5)), .init(key: "same", value: .string("x")),
            .init(key: "steps", value: .integer(12)),
        ]
        let d = MetadataDiff.compare(a, b)
        #expect(d.added.map(\.key) == ["lr"])
        #expect(d.removed.map(\.key) == ["old"])
        #expect(d.unchanged.map(\.key) == ["same"])
        #expect(d.changed.map(\.text) == [
            "auc 0.912 → 0.931 (+0.019, +2.1 %)",
            "epochs 12 → 9 (-3, -25.0 %)",
            "git abc123 → def456",
            "rows 0 → 5 (+5)",
            "steps \"12\" → 12 (string → number)",
        ])
        #expect(d.changed[1].delta == .integer(-3) && d.changed[1].relative == -0.25)
        #expect(MetadataDiff.compare([], []).isEmpty)
    }
}
