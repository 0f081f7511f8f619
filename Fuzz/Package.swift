// swift-tools-version:5.4
// Tools 5.4 on purpose: newer tools versions rename an executable's `main` symbol, and then the
// libFuzzer runtime's `main` does not link. See docs/FUZZING.md.
import Foundation
import PackageDescription

// A path dependency's identity is its folder name, which differs between clones.
let trove = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent

// libFuzzer targets for every decoder of hostile bytes. Build and run from this folder:
//   swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
//       --scratch-path .build-fuzz
//   .build-fuzz/debug/fuzz-decoders corpus/ -max_total_time=300
let package = Package(
    name: "TroveFuzz",
    dependencies: [
        .package(path: "..")
    ],
    targets: [
        .executableTarget(
            name: "fuzz-decoders",
            dependencies: [
                .product(name: "TroveProtocol", package: trove),
                .product(name: "TroveCore", package: trove),
                .product(name: "TroveS3", package: trove),
                .product(name: "TroveStore", package: trove),
            ],
            path: "Sources/FuzzDecoders"
        )
    ]
)
