import ArgumentParser

/// `trove bucket ls|create|rm`: the buckets of the S3 API (docs/S3.md), for operators.
struct BucketCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bucket",
        abstract: "List, create and delete the buckets troved serves over S3.",
        discussion: """
            Buckets are mutable maps from key to object, served by `troved --s3-listen`; their keys \
            are listed with `trove ls s3://BUCKET/PREFIX` and made immutable versions with \
            `trove snapshot`. See docs/S3.md.
            """,
        subcommands: [BucketLsCommand.self, BucketCreateCommand.self, BucketRmCommand.self])
}
