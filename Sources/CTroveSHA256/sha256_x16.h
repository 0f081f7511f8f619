// Internal to CTroveSHA256: the sixteen-stream AVX-512 block function (sha256_x16.c).
#ifndef TROVE_SHA256_X16_H
#define TROVE_SHA256_X16_H

#include <stddef.h>
#include <stdint.h>

// SHA-256's 64 round constants (sha256.c).
extern const uint32_t trove_sha256_k[64];

// Whether the CPU has what trove_sha256_x16_blocks needs (AVX-512 F and BW).
int trove_sha256_x16_available(void);

// Whether trove_sha256_many takes sixteen streams at a time: available, and on an Intel CPU, unless
// TROVE_SHA256_LANES=2 (never) or 16 (whenever available) says otherwise. Decided once.
int trove_sha256_x16_preferred(void);

// n blocks of each of the 16 streams: stream i's state is state[0..7][i], its blocks start at p[i]
// and follow each other step[i] bytes apart (0 for a stream whose result is not wanted: p[i] then
// needs 64 readable bytes). Only where trove_sha256_x16_available().
void trove_sha256_x16_blocks(uint32_t state[8][16], const uint8_t *const p[16], const size_t step[16], size_t n);

// trove_sha256_x16_blocks, and each stream's CRC-32C register (inverted, as the instruction keeps
// it) over the same bytes in crc[i].
void trove_sha256_x16_blocks_crc(uint32_t state[8][16], const uint8_t *const p[16], const size_t step[16], size_t n,
                                 uint64_t crc[16]);

#endif
