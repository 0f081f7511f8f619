import Testing
import TroveCore
import TroveProtocol

@testable import TroveServer

/// The request path's table and its one access check.
@Suite("Request router")
struct RequestRouterTests {
    @Test("every request after the handshake has exactly one route, keyed by its type")
    func routesCoverEveryRequest() {
        let expected = Set(MessageType.allCases.filter { $0.isRequest && $0.access?.scope != nil })
        #expect(Set(RequestRouter.routes.keys) == expected)
        for (type, route) in RequestRouter.routes { #expect(route.type == type) }
    }

    @Test("the scope a request type declares is enforced for every example request")
    func scopeFromDeclaration() throws {
        for m in Message.examples {
            guard let request = m.request, let needed = type(of: request).access.scope else { continue }
            for scope in AccessScope.allCases {
                let grant = Grant(tokenName: "t", scope: scope, prefixes: [])
                let access = type(of: request).access
                if scope >= needed {
                    #expect(throws: Never.self, "\(m.type) with \(scope)") {
                        try grant.check(access, name: request.scopedName)
                    }
                } else {
                    let e = try #require(
                        denial { () throws(ServerError) in
                            try grant.check(access, name: request.scopedName)
                        })
                    #expect(e.code == .permissionDenied, "\(m.type) with \(scope)")
                }
            }
        }
    }

    @Test("prefix-checked requests need their name under a prefix; filtered and unscoped ones do not")
    func prefixes() throws {
        let grant = Grant(tokenName: "t", scope: .admin, prefixes: ["models"])
        #expect(
            denial { () throws(ServerError) in try grant.check(.write(.prefix), name: "models/churn") } == nil
        )
        #expect(denial { () throws(ServerError) in try grant.check(.write(.prefix), name: "models") } == nil)
        let outside = try #require(
            denial { () throws(ServerError) in try grant.check(.write(.prefix), name: "modelsx/a") })
        #expect(outside.code == .permissionDenied)
        #expect(denial { () throws(ServerError) in try grant.check(.read(.filtered), name: "data/x") } == nil)
        #expect(denial { () throws(ServerError) in try grant.check(.admin(), name: nil) } == nil)
        // GET_REF names its name inside the ref string.
        let getRef = Message.GetRef(ref: "data/sets:prod")
        #expect(getRef.scopedName == "data/sets")
        #expect(
            denial { () throws(ServerError) in try grant.check(Message.GetRef.access, name: getRef.scopedName)
            }?
            .code == .permissionDenied)
    }

    @Test("an invalid name is a bad request, checked before the scope")
    func invalidName() throws {
        let reader = Grant(tokenName: "t", scope: .read, prefixes: [])
        let e = try #require(
            denial { () throws(ServerError) in try reader.check(.write(.prefix), name: "a//b") })
        #expect(e.code == .badRequest)
    }

    /// The error `body` throws, or nil.
    func denial(_ body: () throws(ServerError) -> Void) -> ServerError? {
        do throws(ServerError) {
            try body()
            return nil
        } catch {
            return error
        }
    }
}
