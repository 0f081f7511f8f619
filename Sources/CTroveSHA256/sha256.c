// SHA-256 (FIPS 180-4) with the x86-64 SHA extensions, one or two streams at a time, and a
// portable fallback. Two streams interleaved (a chunk's digest and its blob's digest over the same
// bytes, or two chunks) run at nearly twice the bytes per second of one: `sha256rnds2` has a
// latency of about twice its reciprocal throughput. Only the block functions use the extension
// (compiled for it with a target attribute); callers go through trove_sha256_update*, which pick
// the path once at run time. Tests hold every path equal to OpenSSL's SHA-256.
#include "trove_sha256.h"
#include "sha256_x16.h"

#include <stdint.h>
#include <string.h>

// The round constants; sha256_x16.c uses them too.
const uint32_t trove_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t H0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

// MARK: Portable compression

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void blocks_portable(uint32_t h[8], const uint8_t *p, size_t n) {
    while (n-- > 0) {
        uint32_t w[64];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
                   (uint32_t)p[4 * i + 3];
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 =
                hh + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + trove_sha256_k[i] + w[i];
            uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
        p += 64;
    }
}

// MARK: SHA-NI

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

static int detect(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    if (!(ecx & bit_SSE4_1) || !(ecx & bit_SSSE3)) return 0;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    return (ebx & (1u << 29)) != 0;  // SHA
}

#define SHA_TARGET __attribute__((target("sha,sse4.1,ssse3"), always_inline)) static inline

// One lane's state in the layout the instructions use (ABEF, CDGH) and its message words.
typedef struct {
    __m128i s0, s1, save0, save1, m[4];
} lane;

SHA_TARGET void lane_load(lane *l, const uint32_t h[8]) {
    __m128i t = _mm_loadu_si128((const __m128i *)&h[0]);
    __m128i s1 = _mm_loadu_si128((const __m128i *)&h[4]);
    t = _mm_shuffle_epi32(t, 0xB1);               // CDAB
    s1 = _mm_shuffle_epi32(s1, 0x1B);             // EFGH
    l->s0 = _mm_alignr_epi8(t, s1, 8);            // ABEF
    l->s1 = _mm_blend_epi16(s1, t, 0xF0);         // CDGH
}

SHA_TARGET void lane_store(const lane *l, uint32_t h[8]) {
    __m128i t = _mm_shuffle_epi32(l->s0, 0x1B);   // FEBA
    __m128i s1 = _mm_shuffle_epi32(l->s1, 0xB1);  // DCHG
    _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(t, s1, 0xF0));  // DCBA
    _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(s1, t, 8));     // HGFE
}

// Rounds 4i … 4i+3 of one lane (i is a constant after inlining).
SHA_TARGET void lane_rounds(lane *l, const uint8_t *p, int i) {
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    if (i == 0) {
        l->save0 = l->s0;
        l->save1 = l->s1;
    }
    if (i < 4) l->m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
    __m128i msg = _mm_add_epi32(l->m[i & 3], _mm_loadu_si128((const __m128i *)&trove_sha256_k[4 * i]));
    l->s1 = _mm_sha256rnds2_epu32(l->s1, l->s0, msg);
    if (i >= 3 && i <= 14) {
        __m128i t = _mm_alignr_epi8(l->m[i & 3], l->m[(i - 1) & 3], 4);
        l->m[(i + 1) & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(l->m[(i + 1) & 3], t), l->m[i & 3]);
    }
    msg = _mm_shuffle_epi32(msg, 0x0E);
    l->s0 = _mm_sha256rnds2_epu32(l->s0, l->s1, msg);
    if (i >= 1 && i <= 12) l->m[(i - 1) & 3] = _mm_sha256msg1_epu32(l->m[(i - 1) & 3], l->m[i & 3]);
    if (i == 15) {
        l->s0 = _mm_add_epi32(l->s0, l->save0);
        l->s1 = _mm_add_epi32(l->s1, l->save1);
    }
}

__attribute__((target("sha,sse4.1,ssse3"))) static void blocks_ni(uint32_t h[8], const uint8_t *p, size_t n) {
    lane a;
    lane_load(&a, h);
    for (; n > 0; n--, p += 64) {
#pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++) lane_rounds(&a, p, i);
    }
    lane_store(&a, h);
}

__attribute__((target("sha,sse4.1,ssse3"))) static void blocks_ni_x2(uint32_t ha[8], const uint8_t *pa,
                                                                    uint32_t hb[8], const uint8_t *pb, size_t n) {
    lane a, b;
    lane_load(&a, ha);
    lane_load(&b, hb);
    for (; n > 0; n--, pa += 64, pb += 64) {
#pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++) {
            lane_rounds(&a, pa, i);
            lane_rounds(&b, pb, i);
        }
    }
    lane_store(&a, ha);
    lane_store(&b, hb);
}

// CRC-32C (Castagnoli) register, kept inverted as the instruction wants it, over n bytes.
__attribute__((target("sse4.2"))) static uint64_t crc_run(uint64_t c, const uint8_t *p, size_t n) {
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
    }
    for (; n > 0; n--) c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return c;
}

// blocks_ni_x2, and each lane's CRC-32C over the same blocks: the CRC instruction runs on another
// port than the SHA rounds, beside their latency, so the pair costs what the SHA alone does.
__attribute__((target("sha,sse4.1,ssse3,sse4.2"))) static void blocks_ni_x2_crc(
    uint32_t ha[8], const uint8_t *pa, uint64_t *ca, uint32_t hb[8], const uint8_t *pb, uint64_t *cb, size_t n) {
    lane a, b;
    lane_load(&a, ha);
    lane_load(&b, hb);
    uint64_t cra = *ca, crb = *cb;
    for (; n > 0; n--, pa += 64, pb += 64) {
#pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++) {
            lane_rounds(&a, pa, i);
            lane_rounds(&b, pb, i);
            if (i % 2 == 0) {
                uint64_t x, y;
                memcpy(&x, pa + 4 * i, 8);
                memcpy(&y, pb + 4 * i, 8);
                cra = __builtin_ia32_crc32di(cra, x);
                crb = __builtin_ia32_crc32di(crb, y);
            }
        }
    }
    lane_store(&a, ha);
    lane_store(&b, hb);
    *ca = cra;
    *cb = crb;
}

// Written once with the same value by whichever thread asks first: a benign race.
static int accelerated = -1;

int trove_sha256_accelerated(void) {
    if (accelerated < 0) accelerated = detect();
    return accelerated;
}
#else
int trove_sha256_accelerated(void) { return 0; }
#endif

// MARK: Streaming

static void blocks(uint32_t h[8], const uint8_t *p, size_t n) {
    if (n == 0) return;
#if defined(__x86_64__)
    if (trove_sha256_accelerated()) {
        blocks_ni(h, p, n);
        return;
    }
#endif
    blocks_portable(h, p, n);
}

static void blocks2(uint32_t ha[8], const uint8_t *pa, uint32_t hb[8], const uint8_t *pb, size_t n) {
    if (n == 0) return;
#if defined(__x86_64__)
    if (trove_sha256_accelerated()) {
        blocks_ni_x2(ha, pa, hb, pb, n);
        return;
    }
#endif
    blocks_portable(ha, pa, n);
    blocks_portable(hb, pb, n);
}

void trove_sha256_init(trove_sha256_ctx *ctx) {
    memcpy(ctx->h, H0, sizeof H0);
    ctx->length = 0;
    ctx->used = 0;
}

// Completes a partial block from the input; returns how many input bytes it took.
static size_t fill(trove_sha256_ctx *ctx, const uint8_t *p, size_t n) {
    if (ctx->used == 0) return 0;
    size_t take = 64 - ctx->used;
    if (take > n) take = n;
    memcpy(ctx->buffer + ctx->used, p, take);
    ctx->used += (uint32_t)take;
    if (ctx->used == 64) {
        blocks(ctx->h, ctx->buffer, 1);
        ctx->used = 0;
    }
    return take;
}

// Whole blocks of what is left are done by the caller; this keeps the tail.
static void keep_tail(trove_sha256_ctx *ctx, const uint8_t *p, size_t n) {
    memcpy(ctx->buffer + ctx->used, p, n);
    ctx->used += (uint32_t)n;
}

void trove_sha256_update(trove_sha256_ctx *ctx, const void *data, size_t length) {
    const uint8_t *p = (const uint8_t *)data;
    ctx->length += length;
    size_t took = fill(ctx, p, length);
    p += took;
    length -= took;
    if (length == 0) return;
    blocks(ctx->h, p, length / 64);
    keep_tail(ctx, p + (length & ~(size_t)63), length & 63);
}

void trove_sha256_update2(trove_sha256_ctx *ca, const void *a, size_t la, trove_sha256_ctx *cb, const void *b,
                          size_t lb) {
    const uint8_t *pa = (const uint8_t *)a, *pb = (const uint8_t *)b;
    ca->length += la;
    cb->length += lb;
    size_t t = fill(ca, pa, la);
    pa += t;
    la -= t;
    t = fill(cb, pb, lb);
    pb += t;
    lb -= t;
    // Each context now has an empty buffer, or no input left.
    size_t na = la / 64, nb = lb / 64, both = na < nb ? na : nb;
    blocks2(ca->h, pa, cb->h, pb, both);
    pa += 64 * both, la -= 64 * both, na -= both;
    pb += 64 * both, lb -= 64 * both, nb -= both;
    blocks(ca->h, pa, na);
    blocks(cb->h, pb, nb);
    if (la > 0) keep_tail(ca, pa + 64 * na, la & 63);
    if (lb > 0) keep_tail(cb, pb + 64 * nb, lb & 63);
}

void trove_sha256_final(trove_sha256_ctx *ctx, uint8_t out[32]) {
    uint64_t bits = ctx->length * 8;
    uint8_t pad[72] = {0x80};
    size_t padLength = (ctx->used < 56 ? 56 : 120) - ctx->used;
    for (int i = 0; i < 8; i++) pad[padLength + i] = (uint8_t)(bits >> (56 - 8 * i));
    trove_sha256_update(ctx, pad, padLength + 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(ctx->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(ctx->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(ctx->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)ctx->h[i];
    }
    trove_sha256_init(ctx);
}

// One lane of trove_sha256_many: the buffer it is on, what is left of it, its context and, for
// trove_sha256_crc32c_many, its buffer's CRC-32C register (inverted).
typedef struct {
    trove_sha256_ctx ctx;
    const uint8_t *p;
    size_t left;
    size_t index;
    int live;
    uint64_t crc;
} many_lane;

// CRC-32C register over n bytes, one bit at a time: lanes without the SHA extensions only (the
// Swift side takes this path only in tests).
static uint64_t crc_portable(uint64_t c, const uint8_t *p, size_t n) {
    uint32_t r = (uint32_t)c;
    for (; n > 0; n--) {
        r ^= *p++;
        for (int k = 0; k < 8; k++) r = (r >> 1) ^ (0x82F63B78u & (0u - (r & 1)));
    }
    return r;
}

// Puts the next buffer (in `order`) on `l`, finishing empty ones at once; `*next` is the next
// position in `order` not yet assigned.
static void lane_start(many_lane *l, size_t *next, size_t count, const uint32_t *order, const void *const *data,
                       const size_t *lengths, uint8_t *out, uint32_t *crcs) {
    l->live = 0;
    while (*next < count) {
        size_t i = order ? order[(*next)++] : (*next)++;
        trove_sha256_init(&l->ctx);
        l->crc = 0xFFFFFFFFu;
        if (lengths[i] == 0) {
            trove_sha256_final(&l->ctx, out + 32 * i);
            if (crcs) crcs[i] = 0;
            continue;
        }
        l->p = (const uint8_t *)data[i];
        l->left = lengths[i];
        l->index = i;
        l->live = 1;
        return;
    }
}

// The CRC register of `l` over its next n bytes, where no SHA pass takes it along.
static void lane_crc(many_lane *l, size_t n) {
#if defined(__x86_64__)
    if (trove_sha256_accelerated()) {
        l->crc = crc_run(l->crc, l->p, n);
        return;
    }
#endif
    l->crc = crc_portable(l->crc, l->p, n);
}

// trove_sha256_update2 of the next n bytes of both lanes, with their CRC-32C registers: the whole
// blocks both lanes take in one pass carry the CRC along; the few bytes around them (a partial
// block's completion, the blocks one lane has beyond the other, the tails) are taken on their own.
static void update2_crc(many_lane *a, many_lane *b, size_t n) {
#if defined(__x86_64__)
    if (trove_sha256_accelerated()) {
        const uint8_t *pa = a->p, *pb = b->p;
        size_t la = n, lb = n;
        a->ctx.length += n;
        b->ctx.length += n;
        size_t t = fill(&a->ctx, pa, la);
        a->crc = crc_run(a->crc, pa, t);
        pa += t;
        la -= t;
        t = fill(&b->ctx, pb, lb);
        b->crc = crc_run(b->crc, pb, t);
        pb += t;
        lb -= t;
        size_t na = la / 64, nb = lb / 64, both = na < nb ? na : nb;
        if (both > 0) blocks_ni_x2_crc(a->ctx.h, pa, &a->crc, b->ctx.h, pb, &b->crc, both);
        pa += 64 * both, la -= 64 * both, na -= both;
        pb += 64 * both, lb -= 64 * both, nb -= both;
        a->crc = crc_run(a->crc, pa, la);
        b->crc = crc_run(b->crc, pb, lb);
        blocks(a->ctx.h, pa, na);
        blocks(b->ctx.h, pb, nb);
        if (la > 0) keep_tail(&a->ctx, pa + 64 * na, la & 63);
        if (lb > 0) keep_tail(&b->ctx, pb + 64 * nb, lb & 63);
        return;
    }
#endif
    lane_crc(a, n);
    lane_crc(b, n);
    trove_sha256_update2(&a->ctx, a->p, n, &b->ctx, b->p, n);
}

// Buffers are taken longest first (up to this many; more go in the given order after them).
#define MANY_SORTED 256

// MARK: Sixteen lanes

// The default path takes sixteen lanes for at least this many buffers, and stops them when fewer
// than X16_MIN_LIVE are left (at half the lanes, sixteen run about as fast as two SHA-NI streams).
#define X16_MIN_COUNT 10
#define X16_MIN_LIVE 8

// What an idle lane of the sixteen reads (its result is dropped).
static const uint8_t x16_idle[64];

// Hashes the rest of l's buffer and writes its digest (and CRC).
static void lane_finish(many_lane *l, uint8_t *out, uint32_t *crcs) {
    if (crcs) {
        lane_crc(l, l->left);
        crcs[l->index] = ~(uint32_t)l->crc;
    }
    trove_sha256_update(&l->ctx, l->p, l->left);
    trove_sha256_final(&l->ctx, out + 32 * l->index);
    l->live = 0;
}

// The lanes left when the sixteen-lane pass stops, two at a time: the two with the most left, the
// shorter finishing, the longer going on beside the next.
static void drain_pairs(many_lane *l, int lanes, uint8_t *out, uint32_t *crcs) {
    for (;;) {
        int a = -1, b = -1;
        for (int k = 0; k < lanes; k++) {
            if (!l[k].live) continue;
            if (a < 0 || l[k].left > l[a].left) {
                b = a;
                a = k;
            } else if (b < 0 || l[k].left > l[b].left) {
                b = k;
            }
        }
        if (a < 0) return;
        if (b < 0) {
            lane_finish(&l[a], out, crcs);
            return;
        }
        size_t m = l[b].left;
        if (crcs) {
            update2_crc(&l[a], &l[b], m);
        } else {
            trove_sha256_update2(&l[a].ctx, l[a].p, m, &l[b].ctx, l[b].p, m);
        }
        l[a].p += m;
        l[a].left -= m;
        l[b].p += m;
        l[b].left = 0;
        lane_finish(&l[b], out, crcs);
    }
}

// trove_sha256_many on sixteen AVX-512 lanes (sha256_x16.c): each lane takes the next buffer when
// its own has less than a block left; the lanes' whole blocks run together, as many as the lane
// with the fewest has; below `min_live` live lanes the rest go two at a time.
static void many_x16(size_t count, const uint32_t *o, const void *const *data, const size_t *lengths, uint8_t *out,
                     uint32_t *crcs, int min_live) {
    many_lane l[16];
    size_t next = 0;
    for (int k = 0; k < 16; k++) lane_start(&l[k], &next, count, o, data, lengths, out, crcs);
    uint32_t state[8][16] __attribute__((aligned(64)));
    const uint8_t *p[16];
    size_t step[16];
    for (;;) {
        int live = 0;
        size_t n = SIZE_MAX;
        for (int k = 0; k < 16; k++) {
            while (l[k].live && l[k].left < 64) {
                lane_finish(&l[k], out, crcs);
                lane_start(&l[k], &next, count, o, data, lengths, out, crcs);
            }
            if (!l[k].live) continue;
            live++;
            if (l[k].left / 64 < n) n = l[k].left / 64;
        }
        if (live < min_live || live == 0) break;
        for (int k = 0; k < 16; k++) {
            for (int w = 0; w < 8; w++) state[w][k] = l[k].live ? l[k].ctx.h[w] : 0;
            p[k] = l[k].live ? l[k].p : x16_idle;
            step[k] = l[k].live ? 64 : 0;
        }
        if (crcs) {
            uint64_t crc[16];
            for (int k = 0; k < 16; k++) crc[k] = l[k].crc;
            trove_sha256_x16_blocks_crc(state, p, step, n, crc);
            for (int k = 0; k < 16; k++) l[k].crc = crc[k];
        } else {
            trove_sha256_x16_blocks(state, p, step, n);
        }
        for (int k = 0; k < 16; k++) {
            if (!l[k].live) continue;
            for (int w = 0; w < 8; w++) l[k].ctx.h[w] = state[w][k];
            l[k].p += 64 * n;
            l[k].left -= 64 * n;
            l[k].ctx.length += 64 * n;
        }
    }
    drain_pairs(l, 16, out, crcs);
}

// trove_sha256_many, and with `crcs` each buffer's CRC-32C; `lanes`: 0 the default path, 2 two
// SHA-NI lanes, 16 sixteen AVX-512 lanes whatever the count (where the CPU has them).
static void many(size_t count, const void *const *data, const size_t *lengths, uint8_t *out, uint32_t *crcs,
                 int lanes) {
    // Longest first: each buffer starts on the lane that frees first, so the lanes end at most the
    // shortest buffer apart; in the given order the last one alone could run a whole long buffer on
    // one stream (at about half the rate of two).
    uint32_t order[MANY_SORTED];
    const uint32_t *o = NULL;
    if (count > 2 && count <= MANY_SORTED) {
        for (size_t i = 0; i < count; i++) {
            size_t j = i;
            while (j > 0 && lengths[order[j - 1]] < lengths[i]) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = (uint32_t)i;
        }
        o = order;
    }
    if (lanes == 16 && trove_sha256_x16_available()) {
        many_x16(count, o, data, lengths, out, crcs, 1);
        return;
    }
    if (lanes == 0 && count >= X16_MIN_COUNT && trove_sha256_x16_preferred()) {
        many_x16(count, o, data, lengths, out, crcs, X16_MIN_LIVE);
        return;
    }
    many_lane l[2];
    size_t next = 0;
    lane_start(&l[0], &next, count, o, data, lengths, out, crcs);
    lane_start(&l[1], &next, count, o, data, lengths, out, crcs);
    while (l[0].live && l[1].live) {
        size_t n = l[0].left < l[1].left ? l[0].left : l[1].left;
        if (crcs) {
            update2_crc(&l[0], &l[1], n);
        } else {
            trove_sha256_update2(&l[0].ctx, l[0].p, n, &l[1].ctx, l[1].p, n);
        }
        for (int k = 0; k < 2; k++) {
            l[k].p += n;
            l[k].left -= n;
            if (l[k].left == 0) {
                trove_sha256_final(&l[k].ctx, out + 32 * l[k].index);
                if (crcs) crcs[l[k].index] = ~(uint32_t)l[k].crc;
                lane_start(&l[k], &next, count, o, data, lengths, out, crcs);
            }
        }
    }
    for (int k = 0; k < 2; k++) {
        if (!l[k].live) continue;
        if (crcs) {
            lane_crc(&l[k], l[k].left);
            crcs[l[k].index] = ~(uint32_t)l[k].crc;
        }
        trove_sha256_update(&l[k].ctx, l[k].p, l[k].left);
        trove_sha256_final(&l[k].ctx, out + 32 * l[k].index);
    }
}

void trove_sha256_many(size_t count, const void *const *data, const size_t *lengths, uint8_t *out) {
    many(count, data, lengths, out, NULL, 0);
}

void trove_sha256_crc32c_many(size_t count, const void *const *data, const size_t *lengths, uint8_t *out,
                              uint32_t *crcs) {
    many(count, data, lengths, out, crcs, 0);
}

void trove_sha256_many_lanes(int lanes, size_t count, const void *const *data, const size_t *lengths, uint8_t *out,
                             uint32_t *crcs) {
    many(count, data, lengths, out, crcs, lanes == 16 || lanes == 2 ? lanes : 0);
}

int trove_sha256_sixteen_lanes(void) { return trove_sha256_x16_preferred(); }

int trove_sha256_sixteen_lanes_available(void) { return trove_sha256_x16_available(); }

void trove_sha256_portable(const void *data, size_t length, uint8_t out[32]) {
    trove_sha256_ctx ctx;
    trove_sha256_init(&ctx);
    const uint8_t *p = (const uint8_t *)data;
    blocks_portable(ctx.h, p, length / 64);
    ctx.length = length & ~(size_t)63;
    trove_sha256_update(&ctx, p + (length & ~(size_t)63), length & 63);
    // The tail and the padding are at most two blocks: route them through the portable code too.
    uint64_t bits = ctx.length * 8;
    uint8_t pad[128] = {0};
    memcpy(pad, ctx.buffer, ctx.used);
    pad[ctx.used] = 0x80;
    size_t total = ctx.used < 56 ? 64 : 128;
    for (int i = 0; i < 8; i++) pad[total - 8 + i] = (uint8_t)(bits >> (56 - 8 * i));
    blocks_portable(ctx.h, pad, total / 64);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(ctx.h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(ctx.h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(ctx.h[i] >> 8);
        out[4 * i + 3] = (uint8_t)ctx.h[i];
    }
}
