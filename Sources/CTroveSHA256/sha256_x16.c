// SHA-256 block function for sixteen independent streams at once in AVX-512 registers: each 32-bit
// element of a register belongs to one stream. Where SHA-NI runs one stream's rounds bound by the
// round instruction's latency, this runs sixteen streams' rounds as plain vector arithmetic
// (rotates, three-input logic): on the Intel Xeons this project runs on, about twice the bytes per
// second of two interleaved SHA-NI streams (docs/PERFORMANCE.md, "SHA-256 of many chunks on sixteen
// lanes"). On CPUs that split 512-bit operations in two (AMD Zen 4) it is slower than SHA-NI, so
// sha256.c uses it only where trove_sha256_x16_preferred() says so. Tests hold it equal to OpenSSL.
#include "sha256_x16.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#define X16 __attribute__((target("avx512f,avx512bw")))

// The 16 x 16 transpose of 32-bit words: r[i] holds word k of stream i at element k on entry, and
// r[k] holds word k of every stream (stream i at element i) on exit.
X16 static inline void transpose16(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int m = 0; m < 8; m++) {
        t[2 * m] = _mm512_unpacklo_epi32(r[2 * m], r[2 * m + 1]);
        t[2 * m + 1] = _mm512_unpackhi_epi32(r[2 * m], r[2 * m + 1]);
    }
    // u[4m + s], 128-bit block q: word 4q + s of streams 4m .. 4m + 3.
    for (int m = 0; m < 4; m++) {
        u[4 * m] = _mm512_unpacklo_epi64(t[4 * m], t[4 * m + 2]);
        u[4 * m + 1] = _mm512_unpackhi_epi64(t[4 * m], t[4 * m + 2]);
        u[4 * m + 2] = _mm512_unpacklo_epi64(t[4 * m + 1], t[4 * m + 3]);
        u[4 * m + 3] = _mm512_unpackhi_epi64(t[4 * m + 1], t[4 * m + 3]);
    }
    // Word 4q + s of all streams: block q of u[s], u[4 + s], u[8 + s], u[12 + s], in that order.
    for (int s = 0; s < 4; s++) {
        __m512i v0 = _mm512_shuffle_i32x4(u[s], u[4 + s], 0x44);
        __m512i v1 = _mm512_shuffle_i32x4(u[s], u[4 + s], 0xEE);
        __m512i v2 = _mm512_shuffle_i32x4(u[8 + s], u[12 + s], 0x44);
        __m512i v3 = _mm512_shuffle_i32x4(u[8 + s], u[12 + s], 0xEE);
        r[s] = _mm512_shuffle_i32x4(v0, v2, 0x88);
        r[4 + s] = _mm512_shuffle_i32x4(v0, v2, 0xDD);
        r[8 + s] = _mm512_shuffle_i32x4(v1, v3, 0x88);
        r[12 + s] = _mm512_shuffle_i32x4(v1, v3, 0xDD);
    }
}

#define ROR(x, n) _mm512_ror_epi32((x), (n))
#define XOR3(x, y, z) _mm512_ternarylogic_epi32((x), (y), (z), 0x96)

// The block function; with `crc` (a constant at each call site, so each caller gets its own copy)
// also each stream's CRC-32C register over the same blocks: sixteen independent chains of the CRC
// instruction, which runs on a port the 512-bit arithmetic leaves free.
X16 __attribute__((target("sse4.2"))) static inline __attribute__((always_inline)) void
blocks_x16(uint32_t state[8][16], const uint8_t *const p[16], const size_t step[16], size_t n, uint64_t *crc) {
    const __m512i bswap = _mm512_set4_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607, 0x00010203);
    __m512i h[8];
    for (int i = 0; i < 8; i++) h[i] = _mm512_loadu_si512(state[i]);
    const uint8_t *q[16];
    for (int i = 0; i < 16; i++) q[i] = p[i];
    for (; n > 0; n--) {
        __m512i w[16];
        for (int i = 0; i < 16; i++) w[i] = _mm512_loadu_si512(q[i]);
        if (crc) {
            for (int j = 0; j < 8; j++) {
                for (int i = 0; i < 16; i++) {
                    uint64_t v;
                    memcpy(&v, q[i] + 8 * j, 8);
                    crc[i] = __builtin_ia32_crc32di(crc[i], v);
                }
            }
        }
        for (int i = 0; i < 16; i++) q[i] += step[i];
        transpose16(w);
        for (int i = 0; i < 16; i++) w[i] = _mm512_shuffle_epi8(w[i], bswap);
        __m512i a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
#pragma clang loop unroll(full)
        for (int t = 0; t < 64; t++) {
            __m512i wt;
            if (t < 16) {
                wt = w[t];
            } else {
                __m512i w2 = w[(t - 2) & 15], w15 = w[(t - 15) & 15];
                __m512i s0 = XOR3(ROR(w15, 7), ROR(w15, 18), _mm512_srli_epi32(w15, 3));
                __m512i s1 = XOR3(ROR(w2, 17), ROR(w2, 19), _mm512_srli_epi32(w2, 10));
                wt = _mm512_add_epi32(_mm512_add_epi32(w[t & 15], s0), _mm512_add_epi32(w[(t - 7) & 15], s1));
                w[t & 15] = wt;
            }
            __m512i S1 = XOR3(ROR(e, 6), ROR(e, 11), ROR(e, 25));
            __m512i ch = _mm512_ternarylogic_epi32(e, f, g, 0xCA);
            __m512i kw = _mm512_add_epi32(wt, _mm512_set1_epi32((int)trove_sha256_k[t]));
            __m512i t1 = _mm512_add_epi32(_mm512_add_epi32(hh, S1), _mm512_add_epi32(ch, kw));
            __m512i S0 = XOR3(ROR(a, 2), ROR(a, 13), ROR(a, 22));
            __m512i maj = _mm512_ternarylogic_epi32(a, b, c, 0xE8);
            hh = g;
            g = f;
            f = e;
            e = _mm512_add_epi32(d, t1);
            d = c;
            c = b;
            b = a;
            a = _mm512_add_epi32(t1, _mm512_add_epi32(S0, maj));
        }
        h[0] = _mm512_add_epi32(h[0], a);
        h[1] = _mm512_add_epi32(h[1], b);
        h[2] = _mm512_add_epi32(h[2], c);
        h[3] = _mm512_add_epi32(h[3], d);
        h[4] = _mm512_add_epi32(h[4], e);
        h[5] = _mm512_add_epi32(h[5], f);
        h[6] = _mm512_add_epi32(h[6], g);
        h[7] = _mm512_add_epi32(h[7], hh);
    }
    for (int i = 0; i < 8; i++) _mm512_storeu_si512(state[i], h[i]);
}

X16 void trove_sha256_x16_blocks(uint32_t state[8][16], const uint8_t *const p[16], const size_t step[16],
                                 size_t n) {
    blocks_x16(state, p, step, n, NULL);
}

X16 __attribute__((target("sse4.2"))) void trove_sha256_x16_blocks_crc(uint32_t state[8][16],
                                                                      const uint8_t *const p[16],
                                                                      const size_t step[16], size_t n,
                                                                      uint64_t crc[16]) {
    blocks_x16(state, p, step, n, crc);
}

int trove_sha256_x16_available(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

// Written once with the same value by whichever thread asks first: a benign race.
static int preferred = -1;

int trove_sha256_x16_preferred(void) {
    if (preferred < 0) {
        int use = 0;
        const char *forced = getenv("TROVE_SHA256_LANES");
        if (forced && strcmp(forced, "16") == 0) {
            use = trove_sha256_x16_available();
        } else if (forced && strcmp(forced, "2") == 0) {
            use = 0;
        } else if (trove_sha256_x16_available()) {
            // Intel cores run 512-bit operations whole; AMD's Zen 4 splits them, and there two
            // SHA-NI streams are faster. The vendor decides, once.
            unsigned int a, b, c, d;
            __cpuid(0, a, b, c, d);
            use = b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e; // "GenuineIntel"
        }
        preferred = use;
    }
    return preferred;
}
#else
int trove_sha256_x16_available(void) { return 0; }
int trove_sha256_x16_preferred(void) { return 0; }
void trove_sha256_x16_blocks(uint32_t state[8][16], const uint8_t *const p[16], const size_t step[16], size_t n) {
    (void)state, (void)p, (void)step, (void)n;
    abort();
}
void trove_sha256_x16_blocks_crc(uint32_t state[8][16], const uint8_t *const p[16], const size_t step[16], size_t n,
                                 uint64_t crc[16]) {
    (void)state, (void)p, (void)step, (void)n, (void)crc;
    abort();
}
#endif
