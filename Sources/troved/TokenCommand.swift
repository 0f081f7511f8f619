import ArgumentParser
import Foundation
import TroveCore
import TroveS3

/// `troved token new NAME --scope S [--prefix P]...`: makes a token and prints its config entry.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Create access tokens.", subcommands: [New.self])

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token: prints the secret for the client and the entry for troved.toml.")

        @Argument(help: "Token name (letters, digits, '-', '_', '.'); recorded as the creator of versions.")
        var name: String

        @Option(help: "read, write or admin (admin ⊇ write ⊇ read).")
        var scope: String = "write"

        @Option(name: .customLong("prefix"), help: "Limit the token to names under this prefix (repeatable).")
        var prefixes: [String] = []

        @Flag(help: "Print one JSON object: token, s3AccessKeyId, s3SecretAccessKey, config.")
        var json = false

        func validate() throws {
            guard !name.isEmpty, name.utf8.count <= 128,
                name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
            else { throw ValidationError("token name must be 1–128 ASCII letters, digits, '-', '_' or '.'") }
            guard ["read", "write", "admin"].contains(scope) else {
                throw ValidationError("--scope must be read, write or admin")
            }
            for p in prefixes where !p.isEmpty {
                let trimmed = p.hasSuffix("/") ? String(p.dropLast()) : p
                do { try Names.validateName(trimmed) } catch {
                    throw ValidationError("--prefix \(p): \(error)")
                }
            }
        }

        func run() throws {
            let secret = SecureRandom.bytes(24).map { String(format: "%02x", $0) }.joined()
            let key = AuthProof.key(secret: secret)
            let prefixList = prefixes.map { "\"\($0)\"" }.joined(separator: ", ")
            var entry = "[tokens.\(name)]\nsha256 = \"\(key.hex)\"\nscope = \"\(scope)\"\n"
            if !prefixes.isEmpty { entry += "prefixes = [\(prefixList)]\n" }
            if json {
                // The S3 secret is derived from the SHA-256 the config keeps (docs/S3.md).
                let object: [String: String] = [
                    "token": "\(name):\(secret)", "s3AccessKeyId": name,
                    "s3SecretAccessKey": S3Credential.secret(fromKey: key), "config": entry,
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("# Give this to the client (file for --token-file, or TROVE_TOKEN); it is shown only once:")
            print("\(name):\(secret)")
            print("")
            print("# Add this to troved.toml (it holds only the SHA-256 of the secret):")
            print(entry, terminator: "")
            print("")
            print("# S3 credentials (access key id = token name; the secret derives from the token's):")
            print("# s3AccessKeyId = \(name)")
            print("# s3SecretAccessKey = \(S3Credential.secret(fromKey: key))")
        }
    }
}
