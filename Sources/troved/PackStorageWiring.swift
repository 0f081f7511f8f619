import Foundation
import TroveObjectStorage
import TroveServer
import TroveStore

/// Where `[storage]` puts the packs and the objects of the store at `root`: both nil for local
/// storage; for `packs = "s3"` an `S3PackStorage` and an `S3ObjectStorage` on one client whose
/// bucket has answered a signed request (so a wrong endpoint, bucket or secret stops troved at
/// start, not at the first push).
struct StorageChoice {
    var packs: (any PackStorage)?
    var objects: (any ObjectStorage)?

    /// `options` with these storages.
    func apply(_ options: StoreOptions) -> StoreOptions {
        var o = options
        o.packStorage = packs
        o.objectStorage = objects
        return o
    }
}

func makeStorage(_ storage: StorageSettings, root: String) throws -> StorageChoice {
    guard storage.packs == .s3, let s = storage.s3 else { return StorageChoice() }
    let client = try makeS3Client(s)
    do { try client.probe(prefix: s.prefix + "packs/") } catch {
        throw TrovedError("the S3 bucket for packs does not answer: \(error)")
    }
    return StorageChoice(
        packs: try S3PackStorage(
            client: client, prefix: s.prefix, cacheDirectory: root + "/packs", tmpDirectory: root + "/tmp",
            cacheBytes: Int64(s.cacheSize)),
        objects: try S3ObjectStorage(
            client: client, prefix: s.prefix, cacheDirectory: root + "/objects", tmpDirectory: root + "/tmp",
            cacheBytes: Int64(s.objectCacheSize)))
}

/// A client for `[storage.s3]` with its credentials (the config's, else the environment's).
func makeS3Client(_ s: S3StorageSettings) throws -> S3Client {
    let env = ProcessInfo.processInfo.environment
    guard let keyID = s.accessKeyID ?? env["AWS_ACCESS_KEY_ID"], !keyID.isEmpty else {
        throw TrovedError(
            "packs are in S3 but no access key is configured: set storage.s3.access_key_id or AWS_ACCESS_KEY_ID")
    }
    let secret: String
    if let file = s.secretAccessKeyFile {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8),
            let line = text.split(whereSeparator: \.isNewline).first, !line.isEmpty
        else {
            throw TrovedError("cannot read the secret key from storage.s3.secret_access_key_file \(file)")
        }
        secret = String(line)
    } else if let e = env["AWS_SECRET_ACCESS_KEY"], !e.isEmpty {
        secret = e
    } else {
        throw TrovedError(
            "packs are in S3 but no secret key is configured: set storage.s3.secret_access_key_file or AWS_SECRET_ACCESS_KEY")
    }
    return try S3Client(
        config: S3ClientConfig(
            endpoint: s.endpoint, bucket: s.bucket, region: s.region, accessKeyID: keyID, secretAccessKey: secret))
}
