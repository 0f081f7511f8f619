// swift-tools-version:6.1
import Foundation
import PackageDescription

// A path dependency's identity is its folder name, which differs between clones.
let trove = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent

// Benchmarks live in their own package so the main build and CI do not compile
// package-benchmark. Run from this folder:
//   swift package benchmark                      (package-benchmark suites)
//   swift run -c release bench-hotpath ...       (used by ../scripts/bench-hotpath)
//   swift run -c release bench-store ...         (used by ../scripts/bench-store)
//   swift run -c release bench-gc ...            (used by ../scripts/bench-gc)
//   swift run -c release bench-formats ...       (format-aware boundaries, docs/FORMATS.md)
let package = Package(
    name: "TroveBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HotPath",
            dependencies: [
                .product(name: "TroveCore", package: trove),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/HotPath",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "StoreBench",
            dependencies: [
                .product(name: "TroveCore", package: trove),
                .product(name: "TroveStore", package: trove),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/StoreBench",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "bench-hotpath",
            dependencies: [.product(name: "TroveCore", package: trove)]
        ),
        .executableTarget(
            name: "bench-store",
            dependencies: [
                .product(name: "TroveCore", package: trove),
                .product(name: "TroveStore", package: trove),
            ]
        ),
        .executableTarget(
            name: "bench-formats",
            dependencies: [.product(name: "TroveCore", package: trove)]
        ),
        .executableTarget(
            name: "bench-gc",
            dependencies: [
                .product(name: "TroveCore", package: trove),
                .product(name: "TroveStore", package: trove),
            ]
        ),
    ]
)
