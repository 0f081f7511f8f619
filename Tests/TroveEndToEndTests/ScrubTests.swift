import Foundation
import Testing
import TroveCore

@Suite("trove scrub")
struct ScrubEndToEndTests {
    /// Flips one byte in the middle of every pack file (inside record data for these pushes).
    func damagePacks(_ server: TestServer) throws -> Int {
        let packs = server.root.appendingPathComponent("packs").path
        var n = 0
        for p in FileManager.default.enumerator(atPath: packs)?.compactMap({ $0 as? String }) ?? []
        where p.hasSuffix(".pack") {
            let path = packs + "/" + p
            let size = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
            guard size > 100_000 else { continue }
            let fd = open(path, O_RDWR)
            var b: UInt8 = 0
            _ = pread(fd, &b, 1, off_t(size / 2))
            b ^= 0x01
            _ = pwrite(fd, &b, 1, off_t(size / 2))
            close(fd)
            n += 1
        }
        return n
    }

    @Test func cleanStoreExitsZeroAndDamageExitsFiveNamesVersionsAndARepushHeals() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let data = ClientE2E.random(seed: 701, count: 2_000_000)
        let path = try dir.write("weights.bin", data)
        #expect(try server.trove(["push", path, "models/m:1"]).status == 0)

        let clean = try server.trove(["scrub"])
        #expect(clean.status == 0, "\(clean)")
        #expect(clean.stdout.contains("clean: no damage found"), "\(clean)")
        let (cj, j0) = try ClientE2E.json(server, ["scrub"])
        #expect(cj.status == 0)
        #expect(j0["clean"] as? Bool == true)
        #expect(ClientE2E.int(j0["chunksChecked"]) > 10)

        #expect(try damagePacks(server) == 1)
        let (bad, j) = try ClientE2E.json(server, ["scrub"])
        #expect(bad.status == 5, "\(bad)")
        #expect(j["clean"] as? Bool == false)
        let affected = j["affectedVersions"] as? [[String: Any]] ?? []
        #expect(affected.count == 1)
        #expect(affected.first?["version"] as? String == "1")
        #expect(affected.first?["paths"] as? [String] == ["weights.bin"])
        #expect((j["damagedChunks"] as? [String])?.count == 1)

        // The damaged chunk is never served: a pull fails instead of writing wrong bytes.
        let pull = try server.trove(["pull", "models/m:1", dir.path + "/out.bin"])
        #expect(pull.status != 0, "\(pull)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/out.bin/weights.bin"))

        // Pushing the same content again heals it.
        let again = try server.trove(["push", path, "models/m:1"])
        #expect(again.status == 0, "\(again)")
        #expect(try server.trove(["pull", "models/m:1", dir.path + "/healed.bin"]).status == 0)
        #expect(try ClientE2E.read(dir.path + "/healed.bin/weights.bin") == data)
        let healed = try server.trove(["scrub"])
        #expect(healed.status == 0, "\(healed)")
    }

    @Test func slicesSampleAndArguments() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let path = try dir.write("a.bin", ClientE2E.random(seed: 702, count: 1_000_000))
        #expect(try server.trove(["push", path, "a:1"]).status == 0)
        var packs = 0
        for i in 1...3 {
            let (r, j) = try ClientE2E.json(server, ["scrub", "--slice", "\(i)/3", "--rate", "100"])
            #expect(r.status == 0, "\(r)")
            packs += ClientE2E.int(j["packsChecked"])
        }
        #expect(packs == 1)
        let (s, js) = try ClientE2E.json(server, ["scrub", "--sample", "100"])
        #expect(s.status == 0, "\(s)")
        #expect(js["mode"] as? String == "sample 1000000ppm")
        #expect(try server.trove(["scrub", "--slice", "4/3"]).status == 2)
        #expect(try server.trove(["scrub", "--sample", "0"]).status == 2)
        #expect(try server.trove(["scrub", "--slice", "1/2", "--sample", "5"]).status == 2)
    }
}
