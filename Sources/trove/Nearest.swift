/// "Did you mean …?": the candidates nearest to a misspelt word (subcommands, names, versions).
enum Nearest {
    /// The candidates closest to `word`: within an edit distance of a third of its length (at
    /// least 2; a prefix either way counts 1), only those at the best distance, at most three.
    static func matches(_ word: String, in candidates: [String]) -> [String] {
        let limit = max(2, word.count / 3)
        let scored = Set(candidates).map { c -> (String, Int) in
            (c, c.hasPrefix(word) || word.hasPrefix(c) ? 1 : editDistance(word, c))
        }
        let close = scored.filter { $0.1 <= limit }
        guard let best = close.map(\.1).min() else { return [] }
        return close.filter { $0.1 == best }.map(\.0).sorted().prefix(3).map { $0 }
    }

    /// Levenshtein distance (insertions, deletions, substitutions; a swap of neighbours counts 1).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
