import TroveCore
import TroveStore

/// A version's lineage around it — ancestors to the left, descendants to the right (data →
/// model → fine-tune) — walked breadth-first to a capped depth and width, laid out in columns
/// for the SVG the version page draws. Names outside the viewer's prefixes are left out (and
/// counted).
struct LineageGraph {
    struct Node {
        var key: VersionKey
        /// 0 the version itself, -1 its parents, +1 its children, …
        var level: Int
    }

    var nodes: [Node] = []
    /// Parent → child, as indexes into `nodes`.
    var edges: [(Int, Int)] = []
    /// Ancestors or descendants exist beyond the depth cap, or a level had more than the width cap.
    var deeperAncestors = false
    var deeperDescendants = false
    var widthCapped = false
    /// Related versions left out because the viewer's token does not cover their names.
    var hidden = 0
    let maxDepth: Int
    let maxWidth: Int

    /// The graph around `root`, at most `maxDepth` levels each way and `maxWidth` versions per level.
    init(store: Store, root: VersionRecord, viewer: WebViewer, maxDepth: Int = 4, maxWidth: Int = 8) throws {
        self.maxDepth = maxDepth
        self.maxWidth = maxWidth
        var index: [VersionKey: Int] = [root.key: 0]
        nodes.append(Node(key: root.key, level: 0))
        var edgeSet = Set<[Int]>()
        var hiddenKeys = Set<VersionKey>()
        for direction in [-1, 1] {
            var frontier = [root.key]
            for depth in 1...maxDepth + 1 {
                var nextLevel: [VersionKey] = []
                for key in frontier {
                    let related: [VersionKey] =
                        direction < 0
                        ? (try store.version(name: key.name, version: key.version)?.parents ?? [])
                        : try store.children(of: key)
                    for other in related {
                        guard viewer.covers(other.name) else {
                            hiddenKeys.insert(other)
                            continue
                        }
                        if depth > maxDepth {
                            if direction < 0 { deeperAncestors = true } else { deeperDescendants = true }
                            continue
                        }
                        var at = index[other]
                        if at == nil {
                            guard nextLevel.count < maxWidth else {
                                widthCapped = true
                                continue
                            }
                            at = nodes.count
                            index[other] = at
                            nodes.append(Node(key: other, level: direction * depth))
                            nextLevel.append(other)
                        }
                        let (p, c) = direction < 0 ? (at!, index[key]!) : (index[key]!, at!)
                        if edgeSet.insert([p, c]).inserted { edges.append((p, c)) }
                    }
                }
                if depth > maxDepth || nextLevel.isEmpty { break }
                frontier = nextLevel
            }
        }
        hidden = hiddenKeys.count
    }

    static let boxWidth = 190
    static let boxHeight = 34
    static let gapX = 60
    static let gapY = 16
    static let margin = 10

    /// The template context of the SVG: its size, boxes (with links) and edge curves.
    func svgContext() -> [String: Any] {
        let levels = nodes.map(\.level)
        let minLevel = levels.min() ?? 0
        var rowOf: [Int] = []
        var rowsPerLevel: [Int: Int] = [:]
        for n in nodes {
            rowOf.append(rowsPerLevel[n.level, default: 0])
            rowsPerLevel[n.level, default: 0] += 1
        }
        let columns = (levels.max() ?? 0) - minLevel + 1
        let rows = rowsPerLevel.values.max() ?? 1
        let w = Self.margin * 2 + columns * Self.boxWidth + (columns - 1) * Self.gapX
        let h = Self.margin * 2 + rows * Self.boxHeight + (rows - 1) * Self.gapY
        func origin(_ i: Int) -> (Int, Int) {
            (
                Self.margin + (nodes[i].level - minLevel) * (Self.boxWidth + Self.gapX),
                Self.margin + rowOf[i] * (Self.boxHeight + Self.gapY)
            )
        }
        let boxes: [[String: Any]] = nodes.indices.map { i in
            let (x, y) = origin(i)
            let k = nodes[i].key
            let label = k.description.count > 26 ? "…" + String(k.description.suffix(25)) : k.description
            return [
                "x": x, "y": y, "w": Self.boxWidth, "h": Self.boxHeight, "tx": x + 8, "ty": y + 22,
                "label": label, "ref": k.description, "href": WebFormat.versionLink(k.name, k.version),
                "current": i == 0,
            ]
        }
        let curves: [[String: Any]] = edges.map { (p, c) in
            let (px, py) = origin(p)
            let (cx, cy) = origin(c)
            let x1 = px + Self.boxWidth
            let y1 = py + Self.boxHeight / 2
            let x2 = cx
            let y2 = cy + Self.boxHeight / 2
            let mid = (x1 + x2) / 2
            return ["d": "M\(x1) \(y1) C\(mid) \(y1) \(mid) \(y2) \(x2 - 4) \(y2)"]
        }
        var notes: [String] = []
        if deeperAncestors { notes.append("older ancestors beyond \(maxDepth) generations are not drawn") }
        if deeperDescendants { notes.append("descendants beyond \(maxDepth) generations are not drawn") }
        if widthCapped { notes.append("at most \(maxWidth) versions are drawn per generation") }
        if hidden > 0 { notes.append("\(hidden) related version(s) outside your token's prefixes are not shown") }
        return [
            "width": w, "height": h, "boxes": boxes, "curves": curves, "notes": notes.map { ["note": $0] },
            "hasNotes": !notes.isEmpty, "capped": deeperAncestors || deeperDescendants || widthCapped,
            "single": nodes.count == 1,
        ]
    }
}
