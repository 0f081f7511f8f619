import Mustache
import TroveCore
import TroveStore

/// The read-only web view of a store (docs/UI.md): server-rendered HTML pages of names and
/// versions, a version's files and lineage, an alias's history, a diff of two versions, and the
/// store's health. Every value is HTML-escaped by the templates; nothing a GET does changes the
/// store. `respond` blocks on the store: call it off event loops.
public final class WebUI: Sendable {
    let store: Store
    let library: MustacheLibrary
    /// Rows per page of a listing.
    let pageSize: Int

    /// Serves `store`; `pageSize` rows per listing page.
    public init(store: Store, pageSize: Int = 50) {
        self.store = store
        self.pageSize = max(1, pageSize)
        var library = MustacheLibrary()
        for (name, text) in WebTemplates.all {
            // The templates are constants of this module: a parse error is a programming error
            // that the first test run shows.
            do { try library.register(text, named: name) } catch { fatalError("template \(name): \(error)") }
        }
        self.library = library
    }

    /// The page for `request` (GET only: the caller refuses other methods).
    public func respond(_ request: WebRequest) -> WebResponse {
        do {
            let page: Page
            switch request.path {
            case "", "/": page = try listPage(request)
            case "/name": page = try namePage(request)
            case "/version": page = try versionPage(request)
            case "/alias": page = try aliasPage(request)
            case "/diff": page = try diffPage(request)
            case "/store": page = try storePage(request)
            default: throw WebError.notFound("there is no page \(request.path); start at the versions list")
            }
            return WebResponse(status: 200, body: render(page, request))
        } catch let e as WebError {
            return errorPage(e, request)
        } catch let e as StoreError {
            return errorPage(WebUI.webError(e), request)
        } catch {
            return errorPage(WebError(status: 500, message: "\(error)"), request)
        }
    }

    /// A page before the layout: its title, its template and what the template reads.
    struct Page {
        var title: String
        var template: String
        var context: [String: Any]
    }

    private func render(_ page: Page, _ r: WebRequest) -> String {
        let body = library.render(page.context, withTemplate: page.template) ?? ""
        let layout: [String: Any] = [
            "title": page.title, "body": body, "viewer": r.viewer.name ?? "",
            "signedIn": r.viewer.name != nil, "readOnly": store.isReadOnly,
            "prefixes": r.viewer.prefixes.joined(separator: ", "), "limited": !r.viewer.prefixes.isEmpty,
        ]
        return library.render(layout, withTemplate: "layout") ?? ""
    }

    private func errorPage(_ e: WebError, _ r: WebRequest) -> WebResponse {
        let page = Page(
            title: "Error \(e.status)", template: "error", context: ["status": e.status, "message": e.message])
        return WebResponse(status: e.status, body: render(page, r))
    }

    static func webError(_ e: StoreError) -> WebError {
        switch e {
        case .refNotFound, .aliasNotSetAt, .versionRetired: .notFound("\(e)")
        case .invalidArgument, .invalidName: .badRequest("\(e)")
        default: WebError(status: 500, message: "\(e)")
        }
    }

    /// A required query parameter.
    static func param(_ r: WebRequest, _ key: String) throws(WebError) -> String {
        guard let v = r.query[key], !v.isEmpty else { throw .badRequest("this page needs the parameter '\(key)'") }
        return v
    }

    /// Refuses a name outside the viewer's prefixes (a 404, so a name's existence is not told).
    static func requireCovered(_ r: WebRequest, _ name: String) throws(WebError) {
        guard r.viewer.covers(name) else {
            throw .notFound("\(name) does not exist or is outside the prefixes of the token '\(r.viewer.name ?? "")'")
        }
    }
}
