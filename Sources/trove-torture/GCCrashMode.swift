import Foundation
import Synchronization
import TroveStore

/// How many times the GC has reached the phase `gc-crash` waits for.
private let phaseHits = Mutex(0)

/// `trove-torture gc-crash ROOT PHASE N [PACK_SIZE]`: opens the store and runs a GC (no grace,
/// no pack-removal delay) that SIGKILLs its own process at the N-th time it reaches PHASE (see
/// `MaintenanceTestHooks.gcPhase` for the names), or after N milliseconds when PHASE is `time`.
/// Prints `AT PHASE` just before dying and `DONE` if the GC finished first.
func runGCCrashMode(_ args: [String]) -> Never {
    guard args.count >= 3, let n = Int(args[2]) else {
        fail("usage: trove-torture gc-crash ROOT PHASE N [PACK_SIZE]", exit: 2)
    }
    let (root, phase) = (args[0], args[1])
    let packSize = args.count > 3 ? Int(args[3]) ?? 64 << 10 : 64 << 10
    let store: Store
    do { store = try Store.open(at: root, options: StoreOptions(packSize: packSize)) } catch {
        fail("open failed: \(error)", exit: 1)
    }
    if phase == "time" {
        Thread {
            usleep(UInt32(n) * 1000)
            say("AT time")
            kill(getpid(), SIGKILL)
        }.start()
    } else {
        MaintenanceTestHooks.gcPhase = { _, p in
            guard p == phase else { return }
            if phaseHits.withLock({ $0 += 1; return $0 }) == n {
                say("AT \(p)")
                kill(getpid(), SIGKILL)
            }
        }
    }
    do {
        let r = try store.collectGarbage(GCOptions(graceSeconds: 0, packRemovalDelay: 0, batchSize: 16))
        say("DONE \(r.chunksFreed)")
        exit(0)
    } catch {
        fail("gc failed: \(error)", exit: 3)
    }
}
