#ifndef TROVE_SHA256_H
#define TROVE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A SHA-256 context: chaining state, a partial block and the bytes absorbed so far.
typedef struct {
    uint32_t h[8];
    uint64_t length;
    uint32_t used;
    uint8_t buffer[64];
} trove_sha256_ctx;

/// 1 when the CPU has the SHA extensions (x86-64 SHA-NI) this code uses; else the portable
/// compression function runs (correct, several times slower than OpenSSL's).
int trove_sha256_accelerated(void);

/// Starts a digest.
void trove_sha256_init(trove_sha256_ctx *ctx);

/// Feeds `length` bytes.
void trove_sha256_update(trove_sha256_ctx *ctx, const void *data, size_t length);

/// Feeds `la` bytes at `a` into `ca` and `lb` bytes at `b` into `cb` (the same bytes, or two
/// different buffers), interleaving the two streams' blocks: SHA-NI's round instruction is
/// latency-bound, so two independent streams cost little more than one.
void trove_sha256_update2(trove_sha256_ctx *ca, const void *a, size_t la, trove_sha256_ctx *cb, const void *b,
                          size_t lb);

/// The digests of `count` independent buffers (`data[i]`, `lengths[i]` bytes) into `out` (32 bytes
/// each, in order), two at a time on two lanes: when one lane's buffer ends, the next buffer starts
/// on it while the other lane goes on, so buffers of different lengths still run interleaved
/// (pairing them whole would run the longer one's excess on one stream). Buffers start longest
/// first (up to 256 of them), so the two lanes end at most the shortest buffer apart.
void trove_sha256_many(size_t count, const void *const *data, const size_t *lengths, uint8_t *out);

/// trove_sha256_many, and the CRC-32C (Castagnoli; 0 for an empty buffer) of each buffer into
/// `crcs[i]`, taken in the same pass over the bytes: with the SHA extensions the CRC instruction
/// runs beside the SHA rounds of the two lanes at about no cost (without them, one bit at a time).
void trove_sha256_crc32c_many(size_t count, const void *const *data, const size_t *lengths, uint8_t *out,
                              uint32_t *crcs);

/// Finishes the digest into `out` (32 bytes) and starts a new one on `ctx`.
// trove_sha256_many (crcs NULL) or trove_sha256_crc32c_many on a chosen path, for tests and
// benchmarks: lanes 16 takes sixteen AVX-512 lanes whatever the count (where the CPU has them), 2 two
// SHA-NI lanes, anything else the default choice.
void trove_sha256_many_lanes(int lanes, size_t count, const void *const *data, const size_t *lengths, uint8_t *out,
                             uint32_t *crcs);

// Whether trove_sha256_many takes sixteen AVX-512 lanes for ten buffers or more (an Intel CPU with
// AVX-512; TROVE_SHA256_LANES=2 or 16 overrides), and whether the CPU could.
int trove_sha256_sixteen_lanes(void);
int trove_sha256_sixteen_lanes_available(void);

void trove_sha256_final(trove_sha256_ctx *ctx, uint8_t out[32]);

/// SHA-256 of `length` bytes with the portable compression function only (tests: the fallback
/// of CPUs without the SHA extensions).
void trove_sha256_portable(const void *data, size_t length, uint8_t out[32]);

#ifdef __cplusplus
}
#endif

#endif
