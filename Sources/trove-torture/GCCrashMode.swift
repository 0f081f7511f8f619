import Foundation
import TroveCore
import TroveStore

#if canImport(Glibc)
    import Glibc
#endif

/// `trove-torture gc-crash ROOT PHASE N [PACK_SIZE]`: opens the store and runs a GC (no grace,
/// no pack-removal delay) that SIGKILLs its own process at the N-th time it reaches PHASE (see
/// `MaintenanceTestHooks.gcPhase` for the names), or after N milliseconds when PHASE is `time`.
/// Prints `AT PHASE` just before dying and `DONE` if the GC finished first.
func runGCCrashMode(_ args: [String]) -> Never {
    guard args.count >= 3, let n = Int(args[2]) else {
        fputs("usage: trove-torture gc-crash ROOT PHASE N [PACK_SIZE]\n", stderr)
        exit(2)
    }
    let (root, phase) = (args[0], args[1])
    let packSize = args.count > 3 ? Int(args[3]) ?? 64 << 10 : 64 << 10
    let store: Store
    do { store = try Store.open(at: root, options: StoreOptions(packSize: packSize)) } catch {
        fputs("open failed: \(error)\n", stderr)
        exit(1)
    }
    if phase == "time" {
        Thread {
            usleep(UInt32(n) * 1000)
            fputs("AT time\n", stdout)
            fflush(stdout)
            kill(getpid(), SIGKILL)
        }.start()
    } else {
        nonisolated(unsafe) var seen = 0
        MaintenanceTestHooks.gcPhase = { _, p in
            guard p == phase else { return }
            seen += 1
            if seen == n {
                fputs("AT \(p)\n", stdout)
                fflush(stdout)
                kill(getpid(), SIGKILL)
            }
        }
    }
    do {
        let r = try store.collectGarbage(GCOptions(graceSeconds: 0, packRemovalDelay: 0, batchSize: 16))
        print("DONE \(r.chunksFreed)")
        exit(0)
    } catch {
        fputs("gc failed: \(error)\n", stderr)
        exit(3)
    }
}
