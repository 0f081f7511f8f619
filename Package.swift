// swift-tools-version:6.1
import PackageDescription

/// Trove: a content-addressable artifact store for ML teams.
///
/// Module dependency rule (see docs/ARCHITECTURE.md): imports point down only.
/// Core touches no network and no store; Store and Protocol never import each other;
/// Client never imports Store; only the executables configure logging.
let package = Package(
    name: "Trove",
    products: [
        .executable(name: "trove", targets: ["trove"]),
        .executable(name: "troved", targets: ["troved"]),
        .executable(name: "trove-mount", targets: ["trove-mount"]),
        .library(name: "TroveCore", targets: ["TroveCore"]),
        .library(name: "TroveStore", targets: ["TroveStore"]),
        .library(name: "TroveProtocol", targets: ["TroveProtocol"]),
        .library(name: "TroveServer", targets: ["TroveServer"]),
        .library(name: "TroveClient", targets: ["TroveClient"]),
        .library(name: "TroveS3", targets: ["TroveS3"]),
        .library(name: "TroveObjectStorage", targets: ["TroveObjectStorage"]),
        .library(name: "TrovePostgres", targets: ["TrovePostgres"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // System-library shims: module map + shim.h, no logic.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CFuse", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
        // Hardware CRC-32C (SSE4.2 / ARMv8 CRC32) with run-time CPU detection; no other logic.
        .target(name: "CTroveCRC32C"),
        // SHA-256 with the x86-64 SHA extensions, two streams interleaved (run-time detection).
        .target(name: "CTroveSHA256"),
        // mallopt(3) settings for the transfer path (executables call it through TroveCore).
        .target(name: "CTroveAllocator"),

        .target(
            name: "TroveCore",
            dependencies: [
                "CZstd", "CLZ4", "COpenSSL", "CTroveCRC32C", "CTroveSHA256", "CTroveAllocator",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "TroveStore",
            dependencies: [
                "TroveCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "TroveProtocol",
            dependencies: [
                "TroveCore",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // TLS 1.3 for both listeners and the client (swift-nio-ssl): reloadable server
        // certificates, the plaintext-or-TLS first-byte check, client contexts and error diagnosis.
        .target(
            name: "TroveTLS",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "TroveServer",
            dependencies: [
                "TroveProtocol", "TroveStore", "TroveCore", "TroveTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The read-only web view (docs/UI.md): HTML pages rendered from the store with Mustache
        // templates compiled in; served by the S3 listener under /_ui/.
        .target(
            name: "TroveWeb",
            dependencies: [
                "TroveStore", "TroveCore",
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        // The S3 API (HTTP/1.1 on NIOHTTP1): buckets over the store. Not the binary protocol.
        .target(
            name: "TroveS3",
            dependencies: [
                "TroveStore", "TroveCore", "TroveTLS", "TroveWeb",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Packs on S3-compatible object storage: a small SigV4 client (HTTP/1.1 on NIOHTTP1) and
        // the S3 implementation of the Store's PackStorage seam.
        .target(
            name: "TroveObjectStorage",
            dependencies: [
                "TroveStore", "TroveCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The catalog in PostgreSQL (postgres-nio): the PostgreSQL implementation of the Store's
        // CatalogDatabase seam, a blocking bridge with a small connection pool.
        .target(
            name: "TrovePostgres",
            dependencies: [
                "TroveStore", "TroveCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TroveClient",
            dependencies: [
                "TroveProtocol", "TroveCore", "TroveTLS",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "TroveMount",
            dependencies: [
                "TroveClient", "TroveProtocol", "TroveCore", "CFuse",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The CLI: no FUSE (`trove mount` runs trove-mount), so it runs on hosts without libfuse3.
        .executableTarget(
            name: "trove",
            dependencies: [
                "TroveCore", "TroveClient", "TroveProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The FUSE helper `trove mount` runs: the only executable that links TroveMount (libfuse3).
        .executableTarget(
            name: "trove-mount",
            dependencies: [
                "TroveMount", "TroveClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "troved",
            dependencies: [
                "TroveServer", "TroveStore", "TroveProtocol", "TroveCore", "TroveS3", "TroveTLS", "TroveObjectStorage",
                "TrovePostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),

        // Crash-test child process for TroveStoreTests (SIGKILLed at random points).
        .executableTarget(
            name: "trove-torture", dependencies: ["TroveStore", "TroveCore"]),
        // The catalog's costs on SQLite and PostgreSQL (scripts/bench-scaling; not run by the tests).
        .executableTarget(
            name: "bench-catalog", dependencies: ["TroveStore", "TroveCore", "TrovePostgres"]),

        .testTarget(
            name: "TroveCoreTests", dependencies: ["TroveCore", "CTroveSHA256"], exclude: ["Vectors"]),
        .testTarget(
            name: "TroveStoreTests",
            dependencies: ["TroveStore", "TroveCore", "TrovePostgres", "TroveTestServers"]),
        // Real servers the tests start on loopback (PostgreSQL 15), shared by the test targets.
        .target(name: "TroveTestServers", path: "Tests/TroveTestServers"),
        .testTarget(
            name: "TroveObjectStorageTests",
            dependencies: ["TroveObjectStorage", "TroveStore", "TroveCore", "TrovePostgres", "TroveTestServers"]),
        .testTarget(
            name: "TroveProtocolTests",
            dependencies: [
                "TroveProtocol", "TroveCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "TroveServerTests",
            dependencies: [
                "TroveServer", "TroveProtocol", "TroveCore", "TroveStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "TroveS3Tests",
            dependencies: ["TroveS3", "TroveStore", "TroveCore", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(
            name: "TroveEndToEndTests",
            dependencies: [
                "TroveCore", "TroveProtocol", "TroveClient", "TroveMount",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
