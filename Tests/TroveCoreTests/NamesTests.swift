import Testing

@testable import TroveCore

@Suite("Names, tags and refs")
struct NamesTests {
    @Test func validNames() throws {
        for n in ["models/churn", "a", "datasets/customers-2026_11.v2", String(repeating: "x", count: 255)] {
            try Names.validateName(n)
        }
        for t in ["1.4.0", "prod", "2026-11-01", "v_1", String(repeating: "t", count: 128)] {
            try Names.validateTag(t)
        }
    }

    @Test func invalidNames() {
        for n in [
            "", "/a", "a/", "a//b", "a/./b", "../a", "a b", "a:b", "a@b", "é",
            String(repeating: "x", count: 256),
        ] {
            #expect(throws: NameError.self, "\(n)") { try Names.validateName(n) }
        }
        for t in ["", ".", "..", "a/b", "a:b", "x\u{0}", String(repeating: "t", count: 129)] {
            #expect(throws: NameError.self, "\(t)") { try Names.validateTag(t) }
        }
    }

    @Test func refParsing() throws {
        #expect(try Ref(parsing: "models/churn:1.4.0") == .tag(name: "models/churn", tag: "1.4.0"))
        let d = SHA256.hash([1])
        #expect(try Ref(parsing: "models/churn@" + d.prefixed) == .digest(name: "models/churn", digest: d))
        #expect(try Ref(parsing: "m:prod").description == "m:prod")
        for bad in [
            "models/churn", "m:", ":v", "m@sha256:zz", "m@" + d.hex, "m:a:b", "a//b:1",
            "m@sha256:" + d.hex + "0",
        ] {
            #expect(throws: NameError.self, "\(bad)") { try Ref(parsing: bad) }
        }
    }

    @Test func treePathValidation() throws {
        try TreePath.validate("a/b/c.txt")
        try TreePath.validate(".hidden/x")
        for bad in ["", "/a", "a/", "a//b", ".", "..", "a/../b", "a/./b", "a\u{0}"] {
            #expect(throws: ObjectError.self, "\(bad)") { try TreePath.validate(bad) }
        }
    }
}
