/// Templates of the version, lineage, alias, diff and store pages (see WebTemplates).
enum VersionTemplates {
    static let version = """
        <h1 id="title"><a href="{{nameHref}}">{{name}}</a>:{{version}}</h1>
        {{#hasViaAlias}}<p class="muted">reached through the alias {{viaAlias}}</p>{{/hasViaAlias}}
        {{#isRetired}}<p class="bad">Retired at {{retired}}: its data may be collected by GC.</p>{{/isRetired}}
        <div class="card"><table class="kv"><tr><th>created</th><td class="mono">{{created}}</td></tr><tr><th>creator</th><td id="creator">{{creator}}</td></tr>
        <tr><th>message</th><td class="msg" id="message">{{#hasMessage}}{{message}}{{/hasMessage}}{{^hasMessage}}<span class="muted">(none)</span>{{/hasMessage}}</td></tr>
        <tr><th>tree</th><td class="mono">{{tree}}</td></tr><tr><th>size</th><td>{{totalSize}} in {{fileCount}} entries</td></tr>
        <tr><th>aliases here</th><td id="aliases">{{#aliases}}<a class="pill" href="{{href}}">{{alias}}</a>{{/aliases}}{{^hasAliases}}<span class="muted">none</span>{{/hasAliases}}</td></tr></table></div>
        <h2>Lineage</h2>
        {{#lineage}}{{>lineage}}{{/lineage}}
        <table class="kv"><tr><th>parents</th><td id="parents">{{#parents}}<a class="pill parent" href="{{href}}">{{ref}}</a>{{/parents}}{{^hasParents}}<span class="muted">none</span>{{/hasParents}}{{#hasParentsHidden}} <span class="note">+{{parentsHidden}} outside your token's prefixes</span>{{/hasParentsHidden}}</td></tr>
        <tr><th>children</th><td id="children">{{#children}}<a class="pill child" href="{{href}}">{{ref}}</a>{{/children}}{{^hasChildren}}<span class="muted">none</span>{{/hasChildren}}{{#hasChildrenHidden}} <span class="note">+{{childrenHidden}} outside your token's prefixes</span>{{/hasChildrenHidden}}</td></tr></table>
        <h2>Metadata</h2>
        {{#hasMetadata}}<table id="metadata"><thead><tr><th>key</th><th>value</th><th>type</th></tr></thead><tbody>
        {{#metadata}}<tr><td class="mono">{{key}}</td><td class="msg">{{value}}</td><td class="muted">{{kind}}</td></tr>
        {{/metadata}}</tbody></table>{{/hasMetadata}}{{^hasMetadata}}<p class="muted">none</p>{{/hasMetadata}}
        <h2>Files</h2>
        {{#hasTreeError}}<p class="bad">{{treeError}}</p>{{/hasTreeError}}
        {{#hasFiles}}<table id="files"><thead><tr><th>path</th><th class="num">size</th><th>digest</th><th></th></tr></thead><tbody>
        {{#files}}<tr><td class="mono">{{path}}{{#target}} → {{target}}{{/target}}</td><td class="num" title="{{bytes}} bytes">{{size}}</td><td class="mono" title="{{digest}}">{{short}}</td><td>{{#download}}<a class="download" href="{{download}}">download</a>{{/download}}</td></tr>
        {{/files}}</tbody></table>{{/hasFiles}}
        {{#filesCapped}}<p class="note">Only the first {{maxFiles}} of {{fileCount}} entries are listed.</p>{{/filesCapped}}
        <h2>Compare</h2>
        <form class="bar" method="get" action="{{diffAction}}"><label>from<input name="a" value="" placeholder="NAME:VERSION"></label>
        <label>to<input name="b" value="{{self}}"></label><button type="submit">Diff</button>{{#hasParentDiff}} <a href="{{parentDiff}}">diff against its first parent</a>{{/hasParentDiff}}</form>
        """

    static let lineage = """
        <div class="scroll"><svg id="lineage" xmlns="http://www.w3.org/2000/svg" width="{{width}}" height="{{height}}" viewBox="0 0 {{width}} {{height}}" role="img" aria-label="lineage graph">
        <defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0 L8 4 L0 8 z" fill="#8a94a3" stroke="none"/></marker></defs>
        {{#curves}}<path d="{{d}}" marker-end="url(#arrow)"/>{{/curves}}
        {{#boxes}}<a class="node{{#current}} current{{/current}}" href="{{href}}" data-ref="{{ref}}"><title>{{ref}}</title><rect x="{{x}}" y="{{y}}" width="{{w}}" height="{{h}}" rx="5"/><text x="{{tx}}" y="{{ty}}">{{label}}</text></a>
        {{/boxes}}</svg></div>
        {{#hasNotes}}<p class="note" id="lineage-notes">{{#notes}}{{note}}. {{/notes}}</p>{{/hasNotes}}
        {{#single}}<p class="muted">No parents or children.</p>{{/single}}
        """

    static let alias = """
        <h1><a href="{{nameHref}}">{{name}}</a>:{{alias}}</h1>
        <div class="card">{{#hasCurrent}}Points at <a id="target" href="{{targetHref}}">{{name}}:{{target}}</a> since <span class="mono">{{updated}}</span> (moved by {{updatedBy}}).{{/hasCurrent}}{{^hasCurrent}}<span id="target" class="muted">Removed: points nowhere now.</span>{{/hasCurrent}}</div>
        <h2>What was here on…</h2>
        <form class="bar" method="get" action="{{action}}"><input type="hidden" name="name" value="{{name}}"><input type="hidden" name="alias" value="{{alias}}">
        <label>date (UTC; or type a time: 2026-10-15T14:30Z)<input id="at" name="at" value="{{at}}" placeholder="2026-10-15"></label><button type="submit">Look up</button></form>
        {{#asked}}<div class="card" id="then">At <span class="mono">{{instant}}</span>: {{#found}}<a href="{{thenHref}}">{{name}}:{{then}}</a>{{/found}}{{#thenError}}<span class="muted">{{thenError}}</span>{{/thenError}}</div>{{/asked}}
        <h2>History, newest first</h2>
        <table id="history"><thead><tr><th>when</th><th>by</th><th>from</th><th>to</th></tr></thead><tbody>
        {{#moves}}<tr><td class="mono">{{at}}</td><td>{{by}}</td><td>{{#fromHref}}<a href="{{fromHref}}">{{from}}</a>{{/fromHref}}{{^fromHref}}{{from}}{{/fromHref}}</td><td>{{#toHref}}<a href="{{toHref}}">{{to}}</a>{{/toHref}}{{^toHref}}<span class="removed">{{to}}</span>{{/toHref}}</td></tr>
        {{/moves}}</tbody></table>
        """

    static let diff = """
        <h1>Compare versions</h1>
        <form class="bar" method="get" action="{{action}}"><label>from (a)<input name="a" value="{{a}}" placeholder="NAME:VERSION"></label>
        <label>to (b)<input name="b" value="{{b}}" placeholder="NAME:VERSION"></label><button type="submit">Diff</button></form>
        {{#compared}}<p><a href="{{aHref}}">{{a}}</a> → <a href="{{bHref}}">{{b}}</a>: <span class="added">{{added}} added</span>, <span class="removed">{{removed}} removed</span>, <span class="changed">{{changed}} changed</span>, {{unchanged}} unchanged.</p>
        {{#sharing}}<div class="card" id="sharing">b shares <b>{{shared}}</b> ({{sharedShare}}%) of its {{bBytes}} with a ({{aBytes}}); {{newBytes}} are new.</div>{{/sharing}}
        {{#sharingSkipped}}<p class="note">{{sharingSkipped}}</p>{{/sharingSkipped}}
        <h2>Metadata</h2>{{#hasMetadata}}<table id="meta-diff"><thead><tr><th>key</th><th>a</th><th>b</th><th></th></tr></thead><tbody>
        {{#metadata}}<tr><td class="mono">{{key}}</td><td class="msg">{{old}}</td><td class="msg">{{new}}</td><td class="{{change}}">{{change}}</td></tr>
        {{/metadata}}</tbody></table>{{/hasMetadata}}{{^hasMetadata}}<p class="muted">same metadata</p>{{/hasMetadata}}
        <h2>Files</h2>{{#hasFiles}}<table id="file-diff"><thead><tr><th>path</th><th class="num">a</th><th class="num">b</th><th></th></tr></thead><tbody>
        {{#files}}<tr><td class="mono">{{path}}</td><td class="num">{{old}}</td><td class="num">{{new}}</td><td class="{{change}}">{{change}}</td></tr>
        {{/files}}</tbody></table>{{/hasFiles}}{{^hasFiles}}<p class="muted">same files</p>{{/hasFiles}}{{/compared}}
        """

    static let store = """
        <h1>Store</h1>
        {{#readOnly}}<p class="bad" id="readonly">The store is read-only after a durability failure: reads work, writes are refused. See docs/OPERATIONS.md.</p>{{/readOnly}}
        {{^readOnly}}<p class="ok" id="readonly">Writable.</p>{{/readOnly}}
        <div class="grid" id="stats"><div class="stat">logical<b>{{logical}}</b><span class="muted">files of live versions</span></div>
        <div class="stat">unique<b>{{unique}}</b><span class="muted">distinct chunks, raw</span></div>
        <div class="stat">stored<b>{{stored}}</b><span class="muted">after compression ({{packBytes}} of packs)</span></div>
        <div class="stat">dedup<b>{{dedup}}×</b><span class="muted">logical / unique</span></div>
        <div class="stat">compression<b>{{compression}}×</b><span class="muted">unique / stored</span></div>
        <div class="stat">overall<b>{{overall}}×</b><span class="muted">logical / stored</span></div>
        <div class="stat">packs<b>{{packs}}</b><span class="muted">{{chunks}} chunks</span></div>
        <div class="stat">versions<b>{{versions}}</b><span class="muted">live</span></div></div>
        <h2>Maintenance</h2><table id="maintenance"><thead><tr><th>job</th><th>last finished</th><th>result</th></tr></thead><tbody>
        {{#jobs}}<tr><td>{{kind}}</td><td class="mono">{{finished}}</td><td>{{^never}}{{#ok}}<span class="ok">ok</span>{{/ok}}{{^ok}}<span class="bad">problem</span>{{/ok}} {{result}}{{/never}}</td></tr>
        {{/jobs}}</tbody></table>
        <h2>Buckets</h2>{{#hasBuckets}}<table id="buckets"><thead><tr><th>bucket</th><th class="num">objects</th><th class="num">size</th><th>write-once</th><th>created</th></tr></thead><tbody>
        {{#buckets}}<tr><td>{{name}}</td><td class="num">{{objects}}</td><td class="num">{{size}}</td><td>{{#writeOnce}}yes{{/writeOnce}}{{^writeOnce}}no{{/writeOnce}}</td><td class="mono">{{created}}</td></tr>
        {{/buckets}}</tbody></table>{{/hasBuckets}}{{^hasBuckets}}<p class="muted">No buckets.</p>{{/hasBuckets}}
        """
}
