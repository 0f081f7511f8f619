import Glibc

/// Monotonic time in seconds (for TTLs and retry deadlines; never goes backwards).
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
