import Foundation
import Testing

/// Package.swift declares each target's dependencies exactly where they are imported: every
/// module a target's sources import is a declared dependency, and every declared dependency is
/// imported somewhere in the target (toolchain modules such as Foundation need no declaration).
@Suite("Package.swift")
struct PackageManifestTests {
    /// Modules that come with the toolchain or the platform.
    static let toolchainModules: Set<String> = [
        "Foundation", "FoundationEssentials", "FoundationNetworking", "Glibc", "Darwin", "Dispatch", "Synchronization",
        "Testing", "XCTest", "_Concurrency", "PackageDescription",
    ]

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// Each target's name, kind and declared dependencies (product or target names, which are
    /// also the module names here), from `swift package dump-package`.
    static func declaredTargets() throws -> [(name: String, type: String, dependencies: Set<String>)] {
        let scratch = try TemporaryDirectory("trove-manifest")
        let r = try CLI.runTool(
            path: "/usr/bin/env",
            ["swift", "package", "--package-path", packageRoot.path, "--scratch-path", scratch.path,
             "dump-package"])
        try #require(r.status == 0, "swift package dump-package failed: \(r.output)")
        let start = try #require(r.output.firstIndex(of: "{"), "no JSON in: \(r.output)")
        let json = try JSONSerialization.jsonObject(with: Data(r.output[start...].utf8)) as? [String: Any]
        let targets = try #require(json?["targets"] as? [[String: Any]])
        return targets.map { t in
            var deps = Set<String>()
            for d in t["dependencies"] as? [[String: Any]] ?? [] {
                for key in ["byName", "target", "product"] {
                    if let list = d[key] as? [Any], let name = list.first as? String { deps.insert(name) }
                }
            }
            return (t["name"] as? String ?? "", t["type"] as? String ?? "", deps)
        }
    }

    /// The modules imported by the Swift files under `dir`.
    static func imports(under dir: URL) -> Set<String> {
        var found = Set<String>()
        let files = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            guard file.pathExtension == "swift", let text = try? String(contentsOf: file, encoding: .utf8) else {
                continue
            }
            var inStringLiteral = false
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                // Lines inside a multi-line string literal (scripts, fixtures) are not imports.
                if line.components(separatedBy: "\"\"\"").count % 2 == 0 { inStringLiteral.toggle() }
                let words = line.split(separator: " ")
                guard !inStringLiteral, let i = words.firstIndex(of: "import"), i + 1 < words.count,
                    words[..<i].allSatisfy({ $0.hasPrefix("@") })
                else { continue }
                let module = String(words[i + 1].prefix { $0 != "." })
                if module.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { found.insert(module) }
            }
        }
        return found.subtracting(toolchainModules)
    }

    @Test func dependenciesAreDeclaredExactlyWhereImported() throws {
        let targets = try Self.declaredTargets()
        #expect(targets.count > 10)
        var checked = 0
        for t in targets where t.type != "system" {
            let dir = Self.packageRoot.appendingPathComponent(t.type == "test" ? "Tests" : "Sources")
                .appendingPathComponent(t.name)
            let imported = Self.imports(under: dir)
            // A C target (no Swift sources) has nothing to check.
            if imported.isEmpty && t.dependencies.isEmpty { continue }
            checked += 1
            let undeclared = imported.subtracting(t.dependencies).sorted()
            let unused = t.dependencies.subtracting(imported).sorted()
            #expect(undeclared.isEmpty, "\(t.name) imports \(undeclared) without declaring it in Package.swift")
            #expect(unused.isEmpty, "\(t.name) declares \(unused) in Package.swift but never imports it")
        }
        #expect(checked >= 10, "only \(checked) targets were checked")
    }
}
