import Foundation

/// A certificate authority made at test time with the openssl CLI (P-256 keys), and server
/// certificates it signs. A missing openssl is a test failure (scripts/setup.d installs it).
final class TestCA: Sendable {
    let directory: TemporaryDirectory
    /// The CA certificate, PEM (what `--tls-ca` takes).
    let certificate: String
    private let key: String

    init(name: String = "Trove Test CA") throws {
        directory = try TemporaryDirectory("trove-ca")
        certificate = directory.url.appendingPathComponent("ca.pem").path
        key = directory.url.appendingPathComponent("ca.key").path
        try Self.openssl(
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                "-out", certificate, "-days", "2", "-subj", "/CN=\(name)", "-addext",
                "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ], in: directory.url)
    }

    /// A server certificate and key for `names` (DNS names or IP addresses), written to
    /// `cert`/`key` (new files in the CA's directory when nil). `expired`: valid only in 2020.
    func issue(
        names: [String] = ["localhost", "127.0.0.1"], expired: Bool = false, cert: String? = nil, key serverKey: String? = nil
    ) throws -> (cert: String, key: String) {
        let id = UUID().uuidString
        let dir = directory.url
        let certPath = cert ?? dir.appendingPathComponent("server-\(id).pem").path
        let keyPath = serverKey ?? dir.appendingPathComponent("server-\(id).key").path
        let csr = dir.appendingPathComponent("\(id).csr").path
        let ext = dir.appendingPathComponent("\(id).ext").path
        let san = names.map { $0.first!.isNumber ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
        try "subjectAltName=\(san)\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n".write(
            toFile: ext, atomically: true, encoding: .utf8)
        // New files replace old ones whole (rename), as an operator's renewal would.
        let tmpKey = keyPath + ".new"
        let tmpCert = certPath + ".new"
        try Self.openssl(
            [
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", tmpKey, "-out",
                csr, "-subj", "/CN=\(names[0])",
            ], in: dir)
        if expired {
            let conf = dir.appendingPathComponent("\(id).cnf").path
            let db = dir.appendingPathComponent("\(id).index").path
            let serial = dir.appendingPathComponent("\(id).serial").path
            try "".write(toFile: db, atomically: true, encoding: .utf8)
            try "01\n".write(toFile: serial, atomically: true, encoding: .utf8)
            try """
            [ca]
            default_ca = d
            [d]
            database = \(db)
            new_certs_dir = \(dir.path)
            serial = \(serial)
            default_md = sha256
            policy = p
            [p]
            commonName = supplied

            """.write(toFile: conf, atomically: true, encoding: .utf8)
            try Self.openssl(
                [
                    "ca", "-batch", "-config", conf, "-cert", certificate, "-keyfile", key, "-in", csr, "-out", tmpCert,
                    "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-extfile", ext,
                ], in: dir)
        } else {
            try Self.openssl(
                [
                    "x509", "-req", "-in", csr, "-CA", certificate, "-CAkey", key, "-CAcreateserial", "-out", tmpCert,
                    "-days", "2", "-extfile", ext,
                ], in: dir)
        }
        guard rename(tmpKey, keyPath) == 0, rename(tmpCert, certPath) == 0 else {
            throw CLIError(description: "cannot move the new certificate into place: errno \(errno)")
        }
        return (certPath, keyPath)
    }

    static func openssl(_ arguments: [String], in directory: URL) throws {
        var exe: String?
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        where FileManager.default.isExecutableFile(atPath: "\(dir)/openssl") {
            exe = "\(dir)/openssl"
            break
        }
        guard let exe else {
            throw CLIError(description: "the openssl CLI is not installed: run `bash scripts/setup-tests`")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = arguments
        p.currentDirectoryURL = directory
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let text = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw CLIError(
                description: "openssl \(arguments.prefix(2).joined(separator: " ")) failed: "
                    + String(decoding: text, as: UTF8.self))
        }
    }
}
