import Foundation
import Testing
import TroveProtocol

/// The request table is declared once, on the message structs (`static let type`, `Reply`,
/// `access`); PROTOCOL.md §6 shows it to humans. These tests keep the two equal.
@Suite("Request table")
struct RequestTableTests {
    /// One row of the table in PROTOCOL.md §6.
    struct Row {
        var request: String
        var code: UInt8
        /// Response names, and whether each is marked "(multi-frame)".
        var responses: [(name: String, multiFrame: Bool)]
        var scope: String
    }

    static func protocolTable() throws -> [Row] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("PROTOCOL.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        let section = try #require(text.range(of: "## 6. Messages"))
        var rows: [Row] = []
        for line in text[section.upperBound...].split(separator: "\n") {
            if line.hasPrefix("## ") || line.hasPrefix("### ") { break }
            guard line.hasPrefix("|") else { continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 4, cells[1].hasPrefix("0x") else { continue }
            let code = try #require(UInt8(cells[1].dropFirst(2), radix: 16), "\(line)")
            // "COMMIT_OK 0x94 or COMMIT_MISSING 0xF4 (multi-frame)"
            var responses: [(String, Bool)] = []
            let words = cells[2].split(separator: " ").map(String.init)
            for (i, w) in words.enumerated() where w.first?.isUppercase == true && w != "or" {
                let multi = i + 2 < words.count && words[i + 2] == "(multi-frame)"
                responses.append((w, multi))
            }
            rows.append(Row(request: cells[0], code: code, responses: responses, scope: cells[3]))
        }
        return rows
    }

    /// The scope column's wording for each ``Access``.
    static func scopeText(_ access: Access) -> String {
        guard let scope = access.scope else { return "—" }
        switch access.names {
        case .prefix: return "\(scope) (+ prefix)"
        case .filtered: return "\(scope) (results filtered by prefix)"
        case .unrestricted: return scope == .admin ? "admin, no prefix restriction" : "\(scope)"
        }
    }

    @Test("PROTOCOL.md §6 lists every request with the code, responses and scope its struct declares")
    func protocolTableMatchesDeclarations() throws {
        let rows = try Self.protocolTable()
        let requests = MessageType.allCases.filter(\.isRequest)
        #expect(rows.map(\.request).sorted() == requests.map(\.description).sorted())
        for row in rows {
            let t = try #require(
                MessageType.allCases.first { $0.description == row.request }, "\(row.request)")
            #expect(t.rawValue == row.code, "\(row.request)")
            let requestType = try #require(t.requestType, "\(row.request) has no request struct")
            #expect(Self.scopeText(requestType.access) == row.scope, "\(row.request)")
            #expect(
                Set(row.responses.map(\.name)) == Set(t.responseTypes.map(\.description)), "\(row.request)")
            for r in row.responses {
                let response = try #require(
                    MessageType.allCases.first { $0.description == r.name }, "\(r.name)")
                #expect(response.mayContinue == r.multiFrame, "\(row.request) → \(r.name)")
            }
        }
    }

    @Test("the registry holds one struct per message type, declaring that type")
    func registryCoversEveryType() {
        let declared = Message.registry.map { $0.type }
        #expect(declared.count == MessageType.allCases.count)
        #expect(Set(declared) == Set(MessageType.allCases))
        for t in MessageType.allCases {
            #expect(t.bodyType.type == t, "\(t)")
        }
    }

    @Test("only HELLO, AUTH and PING are allowed without a scope; prefix rules name a request's name")
    func accessDeclarations() {
        for t in MessageType.allCases {
            guard let access = t.access else { continue }
            #expect((access.scope == nil) == [.hello, .auth, .ping].contains(t), "\(t)")
        }
        // Every example request of a prefix-checked type names the name its token must cover.
        for m in Message.examples {
            guard let r = m.request else { continue }
            let access = type(of: r).access
            #expect((access.names == .prefix) == (r.scopedName != nil), "\(m.type)")
        }
    }

    @Test("multi-frame replies merge their frames in order")
    func mergeFrames() throws {
        let a = Message.VersionList(
            versions: Array(
                Message.examples.compactMap { $0.as(Message.VersionList.self) }
                    .flatMap(\.versions).prefix(1)))
        let b = Message.VersionList(
            versions: Message.examples.compactMap { $0.as(Message.VersionList.self) }
                .flatMap(\.versions))
        let merged = try Message.VersionList(frames: [Message(a), Message(b)])
        #expect(merged.versions == a.versions + b.versions)
        let report = try Message.GCReport(frames: [
            .gcReport(.init(status: .clean, json: "{\"a\":")), .gcReport(.init(status: .clean, json: "1}")),
        ])
        #expect(report.json == "{\"a\":1}")
        #expect(throws: ProtocolError.self) { try Message.Stats(frames: [.pong(.init(nonce: 1))]) }
        #expect(throws: ProtocolError.self) {
            try Message.PushBegun(
                frames: Message.examples.filter { $0.type == .pushBegun } + [.pong(.init(nonce: 1))])
        }
        let ok = Message.examples.first { $0.type == .commitOK }!
        #expect(try CommitResult(frames: [ok]) == .committed(ok.as(Message.CommitOK.self)!))
        let missing = Message.examples.first { $0.type == .commitMissing }!
        #expect(try CommitResult(frames: [missing, missing]) != .committed(ok.as(Message.CommitOK.self)!))
        #expect(throws: ProtocolError.self) { try CommitResult(frames: [ok, missing]) }
    }
}
