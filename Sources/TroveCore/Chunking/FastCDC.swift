/// The FastCDC 2020 cut-point search (Xia et al. 2020), bit-compatible with the fastcdc crate's
/// v2020 module: Gear hash rolled two bytes per step (the shifted table for the even byte),
/// cut-point skipping up to `min`, and normalized chunking (a harder mask before `avg`, an easier
/// one after).
///
/// A `FastCDC` value is immutable and cheap to copy; `cut` is a pure function of the bytes it is
/// given, so callers stream by keeping at least `max` bytes (or everything up to end of input)
/// ahead of the current chunk start.
public struct FastCDC: Sendable {
    /// The validated parameters.
    public let parameters: ChunkerParameters
    let minSize: Int
    let avgSize: Int
    let maxSize: Int
    let maskS: UInt64
    let maskL: UInt64

    /// A chunker for `parameters`; throws if they are not usable.
    public init(_ parameters: ChunkerParameters = .default) throws(ChunkerParameterError) {
        try parameters.validate()
        self.parameters = parameters
        minSize = parameters.min
        avgSize = parameters.avg
        maxSize = parameters.max
        maskS = parameters.maskS
        maskL = parameters.maskL
    }

    /// Length of the chunk that starts at `base`, given the `count` bytes available there.
    ///
    /// `count` must be at least `max` unless the input ends within `count` bytes; the result is
    /// then in `1...max` (or 0 for `count == 0`). Never reads outside `base[0..<count]`.
    /// Deliberately not inlined: in its own frame the scan loop keeps all its state in registers
    /// (inlined into callers with more live values, it spilled masks and bounds: ~10 % slower).
    @inline(never)
    public func cut(_ base: UnsafePointer<UInt8>, count: Int) -> Int {
        var remaining = count
        if remaining <= minSize { return remaining }
        var center = avgSize
        if remaining > maxSize {
            remaining = maxSize
        } else if remaining < center {
            center = remaining
        }
        // Positions are byte pairs: pair i covers bytes 2i (even, shifted table) and 2i+1.
        let start = minSize / 2
        let centerPairs = center / 2
        let endPairs = remaining / 2
        let tables = FastCDCTables.pointer
        var hash: UInt64 = 0
        if start < centerPairs {
            let found = FastCDC.scan(
                base, from: start, to: centerPairs, hash: &hash, mask: maskS, tables: tables)
            if found >= 0 { return found }
        }
        let from = Swift.max(start, centerPairs)
        if from < endPairs {
            let found = FastCDC.scan(base, from: from, to: endPairs, hash: &hash, mask: maskL, tables: tables)
            if found >= 0 { return found }
        }
        return remaining
    }

    /// Rolls the hash over byte pairs `from..<to`; returns the cut length, or -1 if none was found
    /// (then `hash` holds the state after the last pair).
    ///
    /// Two hash chains run in one loop, over two windows of the range, so the CPU overlaps their
    /// dependency chains. This is exact because the hash forgets: each pair shifts the state left
    /// by two bits, so after 32 pairs nothing of an earlier state is left, and the state before
    /// pair `q` is the one 32 pairs rolled from zero over `q - 32 ..< q` reach, whatever came
    /// before.
    ///
    /// The range is taken in rounds of two windows of `w` pairs (`window`, smaller in a last
    /// round that fits the range). Chain X scans the first window, starting from the incoming
    /// state; chain Y scans the second one in lockstep, from a state warmed up from zero over the
    /// last 32 pairs of X's window. A cut X finds is the first one. A cut Y finds is held while X
    /// finishes its window alone (a cut there comes first). With no cut, Y's state at the end of
    /// its window is the exact state there, and X goes on from it with the next round. What is
    /// left after the rounds (under `2 * minWindow` pairs) takes the one-chain loop of `scanOne`.
    ///
    /// Four pairs per chain per step, written plainly: per pair the optimizer makes a three-step
    /// chain (shift, add, add) with the table loads folded into the adds. That is fewer
    /// instructions than `scanOne`'s lookahead form, and two chains hide its latency. On the
    /// 1 GiB benchmark input the loop is bound by its loads (a byte and a table entry per byte),
    /// not by the chain: a third chain, or the lookahead form here, measured no faster.
    @inline(__always)
    static func scan(
        _ base: UnsafePointer<UInt8>, from: Int, to: Int, hash: inout UInt64, mask: UInt64,
        tables: UnsafePointer<UInt64>
    ) -> Int {
        let window = 4096  // pairs per window (measured: 1024 and 2048 lose more to per-round costs)
        let minWindow = 256  // pairs; at least 32 (Y warms up inside X's window), a multiple of 4
        var k = from
        var h = hash
        if to &- k >= 2 &* minWindow {
            let gear = tables
            let shifted = tables + 256
            let maskLS = mask &<< 1
            repeat {
                let w = Swift.min(window, ((to &- k) >> 1) & ~3)  // a multiple of 4, >= minWindow
                // Y's state before pair k + w, from zero over the 32 pairs before it: four
                // independent chains of 8 pairs, combined (pair j's table sum lands shifted left
                // by 2 * (31 - j) bits either way).
                var q = base + 2 &* (k &+ w &- 32)
                var c0: UInt64 = 0
                var c1: UInt64 = 0
                var c2: UInt64 = 0
                var c3: UInt64 = 0
                for _ in 0..<8 {
                    c0 = (c0 &<< 2) &+ shifted[Int(q[0])] &+ gear[Int(q[1])]
                    c1 = (c1 &<< 2) &+ shifted[Int(q[16])] &+ gear[Int(q[17])]
                    c2 = (c2 &<< 2) &+ shifted[Int(q[32])] &+ gear[Int(q[33])]
                    c3 = (c3 &<< 2) &+ shifted[Int(q[48])] &+ gear[Int(q[49])]
                    q += 2
                }
                var g = (c0 &<< 48) &+ (c1 &<< 32) &+ (c2 &<< 16) &+ c3
                // Byte offsets: X reads px[i], Y py[i], i in 0..<n (n bytes per window).
                let xStart = 2 &* k
                let n = 2 &* w
                let px = base + xStart
                let py = px + n
                var i = 0
                var yCutAhead = false
                repeat {
                    let x0 = (h &<< 2) &+ shifted[Int(px[i])]
                    let x1 = x0 &+ gear[Int(px[i &+ 1])]
                    let x2 = (x1 &<< 2) &+ shifted[Int(px[i &+ 2])]
                    let x3 = x2 &+ gear[Int(px[i &+ 3])]
                    let x4 = (x3 &<< 2) &+ shifted[Int(px[i &+ 4])]
                    let x5 = x4 &+ gear[Int(px[i &+ 5])]
                    let x6 = (x5 &<< 2) &+ shifted[Int(px[i &+ 6])]
                    let x7 = x6 &+ gear[Int(px[i &+ 7])]
                    let y0 = (g &<< 2) &+ shifted[Int(py[i])]
                    let y1 = y0 &+ gear[Int(py[i &+ 1])]
                    let y2 = (y1 &<< 2) &+ shifted[Int(py[i &+ 2])]
                    let y3 = y2 &+ gear[Int(py[i &+ 3])]
                    let y4 = (y3 &<< 2) &+ shifted[Int(py[i &+ 4])]
                    let y5 = y4 &+ gear[Int(py[i &+ 5])]
                    let y6 = (y5 &<< 2) &+ shifted[Int(py[i &+ 6])]
                    let y7 = y6 &+ gear[Int(py[i &+ 7])]
                    if (x0 & maskLS) == 0 { return xStart &+ i }
                    if (x1 & mask) == 0 { return xStart &+ i &+ 1 }
                    if (x2 & maskLS) == 0 { return xStart &+ i &+ 2 }
                    if (x3 & mask) == 0 { return xStart &+ i &+ 3 }
                    if (x4 & maskLS) == 0 { return xStart &+ i &+ 4 }
                    if (x5 & mask) == 0 { return xStart &+ i &+ 5 }
                    if (x6 & maskLS) == 0 { return xStart &+ i &+ 6 }
                    if (x7 & mask) == 0 { return xStart &+ i &+ 7 }
                    h = x7
                    if (y0 & maskLS) == 0 || (y1 & mask) == 0 || (y2 & maskLS) == 0 || (y3 & mask) == 0
                        || (y4 & maskLS) == 0 || (y5 & mask) == 0 || (y6 & maskLS) == 0 || (y7 & mask) == 0
                    {
                        yCutAhead = true  // g is still Y's state before these 4 pairs
                        break
                    }
                    g = y7
                    i &+= 8
                } while i < n
                if yCutAhead {
                    // X finishes its window alone, after the 4 pairs it took in Y's cut step; with
                    // no cut there, Y's cut is found exactly by rolling its 4 pairs again.
                    let found = FastCDC.scanOne(
                        base, from: k &+ (i >> 1) &+ 4, to: k &+ w, hash: &h, mask: mask, tables: tables)
                    if found >= 0 { return found }
                    let y = k &+ w &+ (i >> 1)
                    return FastCDC.scanOne(base, from: y, to: y &+ 4, hash: &g, mask: mask, tables: tables)
                }
                h = g
                k = k &+ 2 &* w
            } while to &- k >= 2 &* minWindow
        }
        hash = h
        return FastCDC.scanOne(base, from: k, to: to, hash: &hash, mask: mask, tables: tables)
    }

    /// `scan` with one hash chain, for what is too short for two.
    ///
    /// Per pair the hash becomes `(h << 2) + shifted[b0] + gear[b1]`; the value after the even
    /// byte, `(h << 2) + shifted[b0]`, is tested against `mask << 1`. Written naively, the
    /// optimizer turns this into a three-step dependency chain per pair (shift, add, add). Here
    /// the table sums for the next two pairs are loaded one iteration ahead and carried in
    /// variables, so the loop-carried chain is one shift and one add per pair and the mask tests
    /// hang off it; two pairs per iteration halve the loop overhead. The tail (under four pairs)
    /// takes the plain loop.
    @inline(__always)
    static func scanOne(
        _ base: UnsafePointer<UInt8>, from: Int, to: Int, hash: inout UInt64, mask: UInt64,
        tables: UnsafePointer<UInt64>
    ) -> Int {
        let gear = tables
        let shifted = tables + 256
        let maskLS = mask &<< 1
        var p = base + 2 &* from
        let end = base + 2 &* to
        var h = hash
        if end - p >= 8 {
            let last = end - 8  // the lookahead reads p[4..<8]
            var s0 = shifted[Int(p[0])]
            var t0 = s0 &+ gear[Int(p[1])]
            var s1 = shifted[Int(p[2])]
            var t1 = s1 &+ gear[Int(p[3])]
            while p <= last {
                let hsA = h &<< 2
                let hA0 = hsA &+ s0
                let hA1 = hsA &+ t0
                let hsB = hA1 &<< 2
                let hB0 = hsB &+ s1
                let hB1 = hsB &+ t1
                s0 = shifted[Int(p[4])]
                t0 = s0 &+ gear[Int(p[5])]
                s1 = shifted[Int(p[6])]
                t1 = s1 &+ gear[Int(p[7])]
                if (hA0 & maskLS) == 0 { return p - base }
                if (hA1 & mask) == 0 { return p - base + 1 }
                if (hB0 & maskLS) == 0 { return p - base + 2 }
                if (hB1 & mask) == 0 { return p - base + 3 }
                h = hB1
                p += 4
            }
        }
        while p < end {
            let h0 = (h &<< 2) &+ shifted[Int(p[0])]
            h = h0 &+ gear[Int(p[1])]
            if (h0 & maskLS) == 0 { return p - base }
            if (h & mask) == 0 { return p - base + 1 }
            p += 2
        }
        hash = h
        return -1
    }

    /// Chunk lengths of a whole in-memory input, in order (one-shot; no streaming).
    public func lengths(of bytes: UnsafeRawBufferPointer) -> [Int] {
        guard let raw = bytes.baseAddress, bytes.count > 0 else { return [] }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        var out: [Int] = []
        var offset = 0
        while offset < bytes.count {
            let n = cut(base + offset, count: bytes.count - offset)
            out.append(n)
            offset += n
        }
        return out
    }
}

/// The slow, obvious FastCDC 2020: a line-by-line reading of the fastcdc crate's `cut` with
/// bounds-checked array indexing. The reference every fast path is tested against.
public enum ReferenceFastCDC {
    /// Chunk lengths of `data`, in order.
    public static func lengths(of data: [UInt8], parameters: ChunkerParameters) throws(ChunkerParameterError)
        -> [Int]
    {
        try parameters.validate()
        var out: [Int] = []
        var start = 0
        while start < data.count {
            let n = cut(data, start: start, remaining: data.count - start, parameters: parameters)
            out.append(n)
            start += n
        }
        return out
    }

    static func cut(_ data: [UInt8], start: Int, remaining available: Int, parameters p: ChunkerParameters)
        -> Int
    {
        let gear = FastCDCTables.gear
        let gearLS = gear.map { $0 &<< 1 }
        let maskS = p.maskS
        let maskL = p.maskL
        var remaining = available
        if remaining <= p.min { return remaining }
        var center = p.avg
        if remaining > p.max {
            remaining = p.max
        } else if remaining < center {
            center = remaining
        }
        var index = p.min / 2
        var hash: UInt64 = 0
        while index < center / 2 {
            let a = index * 2
            hash = (hash &<< 2) &+ gearLS[Int(data[start + a])]
            if hash & (maskS &<< 1) == 0 { return a }
            hash = hash &+ gear[Int(data[start + a + 1])]
            if hash & maskS == 0 { return a + 1 }
            index += 1
        }
        while index < remaining / 2 {
            let a = index * 2
            hash = (hash &<< 2) &+ gearLS[Int(data[start + a])]
            if hash & (maskL &<< 1) == 0 { return a }
            hash = hash &+ gear[Int(data[start + a + 1])]
            if hash & maskL == 0 { return a + 1 }
            index += 1
        }
        return remaining
    }
}
