import Foundation
import TroveObjectStorage
import TroveServer
import TroveStore

/// The pack storage `[storage]` configures for the store at `root`: nil for local packs; for
/// `packs = "s3"` an `S3PackStorage` whose bucket has answered a signed request (so a wrong
/// endpoint, bucket or secret stops troved at start, not at the first push).
func makePackStorage(_ storage: StorageSettings, root: String) throws -> (any PackStorage)? {
    guard storage.packs == .s3, let s = storage.s3 else { return nil }
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
    let client = try S3Client(
        config: S3ClientConfig(
            endpoint: s.endpoint, bucket: s.bucket, region: s.region, accessKeyID: keyID, secretAccessKey: secret))
    do { try client.probe(prefix: s.prefix + "packs/") } catch {
        throw TrovedError("the S3 bucket for packs does not answer: \(error)")
    }
    return try S3PackStorage(
        client: client, prefix: s.prefix, cacheDirectory: root + "/packs", tmpDirectory: root + "/tmp",
        cacheBytes: Int64(s.cacheSize))
}
