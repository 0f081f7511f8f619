/// The pages' Mustache templates, compiled into the binary (no files to install, no external
/// assets: the pages work offline). `{{x}}` is HTML-escaped; `{{{body}}}` (the layout's rendered
/// page) is the only unescaped tag, and it holds only template output.
enum WebTemplates {
    static let all: [(String, String)] = [
        ("layout", layout), ("error", error), ("list", list), ("name", name), ("versionRows", versionRows),
        ("version", VersionTemplates.version), ("lineage", VersionTemplates.lineage),
        ("alias", VersionTemplates.alias), ("diff", VersionTemplates.diff), ("store", VersionTemplates.store),
    ]

    static let style = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d232b;background:#f6f7f9}
        header{display:flex;gap:18px;align-items:center;padding:10px 22px;background:#1f2a37;color:#e8edf3}
        header a{color:#e8edf3;text-decoration:none}header .brand{font-weight:700;font-size:16px}
        header .who{margin-left:auto;font-size:12px;opacity:.85}.ro{background:#b42318;color:#fff;padding:2px 8px;border-radius:4px}
        main{max-width:1180px;margin:18px auto;padding:0 22px}h1{font-size:21px;margin:8px 0 14px;word-break:break-all}
        h2{font-size:16px;margin:22px 0 8px}table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
        th,td{text-align:left;padding:5px 9px;border-bottom:1px solid #e3e6ea;vertical-align:top}
        th{background:#eef1f4;font-weight:600}td.num,th.num{text-align:right;white-space:nowrap}
        a{color:#1f5fbf}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
        form.bar{display:flex;flex-wrap:wrap;gap:10px;align-items:end;background:#fff;padding:10px;border:1px solid #e3e6ea}
        form.bar label{display:flex;flex-direction:column;font-size:12px;color:#555}
        input{font:inherit;padding:4px 6px;border:1px solid #c4cad1;border-radius:3px;min-width:200px}
        button{font:inherit;padding:5px 14px;border:0;border-radius:3px;background:#1f5fbf;color:#fff;cursor:pointer}
        .card{background:#fff;border:1px solid #e3e6ea;padding:10px 14px;margin:10px 0}
        .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:10px}
        .stat{background:#fff;border:1px solid #e3e6ea;padding:10px 14px}.stat b{display:block;font-size:20px}
        .muted{color:#667085}.msg{white-space:pre-wrap;word-break:break-word}.note{color:#8a5a00;font-size:12px}
        .pill{display:inline-block;padding:1px 7px;border-radius:9px;background:#e7eefc;margin:1px 3px 1px 0}
        .added{color:#067647}.removed{color:#b42318}.changed{color:#8a5a00}.bad{color:#b42318;font-weight:600}
        .ok{color:#067647;font-weight:600}.pager{margin:10px 0}svg a rect{fill:#fff;stroke:#1f5fbf}
        svg a:hover rect{fill:#e7eefc}svg a.current rect{fill:#1f5fbf}svg a.current text{fill:#fff}
        svg text{font:12px ui-monospace,Menlo,Consolas,monospace;fill:#1d232b}svg path{fill:none;stroke:#8a94a3;stroke-width:1.4}
        .scroll{overflow-x:auto;background:#fff;border:1px solid #e3e6ea;padding:6px}table.kv th{width:130px}
        """

    static let layout = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
        <link rel="icon" href="data:,"><title>{{title}} · Trove</title><style>\(style)</style></head>
        <body><header><a class="brand" href="/_ui/">Trove</a><a href="/_ui/">Versions</a><a href="/_ui/diff">Compare</a>
        <a href="/_ui/store">Store</a>{{#readOnly}}<span class="ro">store is read-only</span>{{/readOnly}}
        <span class="who">{{#signedIn}}token <b>{{viewer}}</b>{{/signedIn}}{{^signedIn}}open access (loopback, no tokens){{/signedIn}}{{#limited}} · limited to {{prefixes}}{{/limited}}</span></header>
        <main>{{{body}}}</main></body></html>
        """

    static let error = """
        <h1>Error {{status}}</h1><div class="card msg" id="error">{{message}}</div><p><a href="/_ui/">Back to the versions list</a></p>
        """

    static let versionRows = """
        <table id="versions"><thead><tr><th>name</th><th>version</th><th>created</th><th>creator</th><th>metadata</th><th>message</th></tr></thead><tbody>
        {{#versions}}<tr><td><a href="{{nameHref}}">{{name}}</a></td><td><a class="version" href="{{href}}">{{version}}</a></td><td class="mono">{{created}}</td><td>{{creator}}</td><td class="mono">{{metadata}}</td><td>{{message}}</td></tr>
        {{/versions}}</tbody></table>
        {{^hasVersions}}<p class="muted" id="empty">No versions match.</p>{{/hasVersions}}
        {{#hasNext}}<p class="pager"><a id="next" href="{{next}}">Next page →</a></p>{{/hasNext}}
        """

    static let list = """
        <h1>{{heading}}</h1>
        <form class="bar" method="get" action="/_ui/"><label>Name prefix<input name="prefix" value="{{prefix}}" placeholder="models/churn"></label>
        <label>Metadata (space-separated)<input name="where" value="{{where}}" placeholder="auc>=0.9 task=churn"></label><button type="submit">Search</button></form>
        {{#hasScopes}}<p>Your token covers: {{#scopes}}<a class="pill" href="{{href}}">{{prefix}}</a>{{/scopes}}</p>{{/hasScopes}}
        {{#hasNames}}<h2>Names</h2><table id="names"><thead><tr><th>name</th><th class="num">versions</th><th>latest</th></tr></thead><tbody>
        {{#names}}<tr><td><a href="{{href}}">{{name}}</a></td><td class="num">{{versions}}</td><td class="mono">{{latest}}</td></tr>
        {{/names}}</tbody></table>{{#hasNamesNext}}<p class="pager"><a id="names-next" href="{{namesNext}}">More names →</a></p>{{/hasNamesNext}}{{/hasNames}}
        <h2>{{#filtered}}Matching versions{{/filtered}}{{^filtered}}Versions, newest first{{/filtered}}</h2>
        {{>versionRows}}
        """

    static let name = """
        <h1>{{name}}</h1>
        {{#hasAliases}}<h2>Aliases</h2><table id="aliases"><thead><tr><th>alias</th><th>version</th><th>moved</th><th>by</th></tr></thead><tbody>
        {{#aliases}}<tr><td><a href="{{href}}">{{alias}}</a></td><td><a href="{{versionHref}}">{{version}}</a></td><td class="mono">{{updated}}</td><td>{{by}}</td></tr>
        {{/aliases}}</tbody></table>{{/hasAliases}}
        <h2>Versions, newest first</h2>
        <form class="bar" method="get" action="/_ui/name"><input type="hidden" name="name" value="{{name}}">
        <label>Metadata (space-separated)<input name="where" value="{{where}}" placeholder="auc>=0.9"></label><button type="submit">Filter</button></form>
        {{>versionRows}}
        """
}
