/// The catalog's SQL as PostgreSQL reads it: `?` placeholders become `$1…$n`, and scripts of
/// several statements are split at `;` (the extended query protocol runs one statement at a
/// time). Quoted text — `'strings'` (with `''` inside), `"identifiers"`, `-- comments` and
/// `/* comments */` — is copied unchanged, so a `?` or `;` inside it is not touched.
public enum PostgresSQL {
    /// `sql` with each `?` outside quoted text replaced by `$1`, `$2`, …; and how many there were.
    public static func numberPlaceholders(_ sql: String) -> (sql: String, count: Int) {
        var out = [UInt8]()
        out.reserveCapacity(sql.utf8.count + 16)
        var n = 0
        scan(sql) { byte, quoted in
            if byte == UInt8(ascii: "?") && !quoted {
                n += 1
                out.append(UInt8(ascii: "$"))
                out.append(contentsOf: Array(String(n).utf8))
            } else {
                out.append(byte)
            }
        }
        return (String(decoding: out, as: UTF8.self), n)
    }

    /// The statements of a script, split at `;` outside quoted text; empty ones dropped.
    public static func statements(_ script: String) -> [String] {
        var result = [String]()
        var current = [UInt8]()
        scan(script) { byte, quoted in
            if byte == UInt8(ascii: ";") && !quoted {
                result.append(String(decoding: current, as: UTF8.self))
                current.removeAll(keepingCapacity: true)
            } else {
                current.append(byte)
            }
        }
        result.append(String(decoding: current, as: UTF8.self))
        return result.map { $0.trimmingSpace() }.filter { !$0.isEmpty && !$0.allSatisfyComment() }
    }

    /// Calls `visit` with every byte of `sql` and whether it is inside quoted text or a comment.
    private static func scan(_ sql: String, _ visit: (UInt8, Bool) -> Void) {
        enum Mode { case plain, single, double, line, block }
        var mode = Mode.plain
        let bytes = Array(sql.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            let next: UInt8? = i + 1 < bytes.count ? bytes[i + 1] : nil
            switch mode {
            case .plain:
                if b == UInt8(ascii: "'") {
                    mode = .single
                } else if b == UInt8(ascii: "\"") {
                    mode = .double
                } else if b == UInt8(ascii: "-") && next == UInt8(ascii: "-") {
                    mode = .line
                } else if b == UInt8(ascii: "/") && next == UInt8(ascii: "*") {
                    mode = .block
                    visit(b, true)
                    visit(next!, true)
                    i += 2
                    continue
                } else {
                    visit(b, false)
                    i += 1
                    continue
                }
                visit(b, true)
            case .single, .double:
                let quote = mode == .single ? UInt8(ascii: "'") : UInt8(ascii: "\"")
                visit(b, true)
                if b == quote {
                    // A doubled quote stays inside; a single one ends the quoted text.
                    if next == quote {
                        visit(next!, true)
                        i += 2
                        continue
                    }
                    mode = .plain
                }
            case .line:
                visit(b, true)
                if b == UInt8(ascii: "\n") { mode = .plain }
            case .block:
                visit(b, true)
                if b == UInt8(ascii: "*") && next == UInt8(ascii: "/") {
                    visit(next!, true)
                    mode = .plain
                    i += 2
                    continue
                }
            }
            i += 1
        }
    }
}

extension String {
    fileprivate func trimmingSpace() -> String {
        let ws: Set<Character> = [" ", "\n", "\t", "\r"]
        var s = Substring(self)
        while let f = s.first, ws.contains(f) { s = s.dropFirst() }
        while let l = s.last, ws.contains(l) { s = s.dropLast() }
        return String(s)
    }

    /// Whether every line is a `--` comment (a script's trailing comment is no statement).
    fileprivate func allSatisfyComment() -> Bool {
        split(separator: "\n").allSatisfy { $0.trimmingPrefixSpace().hasPrefix("--") }
    }
}

extension Substring {
    fileprivate func trimmingPrefixSpace() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        return s
    }
}
