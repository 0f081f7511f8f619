// Hardware CRC-32C (Castagnoli): the SSE4.2 `crc32` instruction on x86-64, the CRC32 extension on
// AArch64. Compiled for the baseline ISA; only these functions are built for the extension, and
// callers check trove_crc32c_hw_available() first (the Swift table implementation is the fallback
// and the reference it is tested against).
#include "trove_crc32c.h"

#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

int trove_crc32c_hw_available(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    return (ecx & bit_SSE4_2) != 0;
}

// The instruction has a latency of 3 cycles and a throughput of 1 per cycle, so one dependency
// chain runs at a third of what the unit can do (~8 bytes per 3 cycles). Long inputs are cut into
// blocks of three lanes hashed side by side, each lane from a zero register; the lanes are then
// joined by linearity: the register after lanes A and B is shift(register after A) ^ (B's
// register from zero), where shift(x) runs x through as many zero bytes as B holds. shift is a
// GF(2)-linear map of the 32-bit register, applied with four table lookups (one per byte of x);
// the tables are built once, from the instruction itself.
#include <pthread.h>

enum { LANE_LONG = 8192, LANE_SHORT = 256 };

static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

__attribute__((target("sse4.2")))
static uint32_t zeros(uint32_t c, size_t length) {
    uint64_t r = c;
    for (size_t i = 0; i < length; i += 8) r = __builtin_ia32_crc32di(r, 0);
    return (uint32_t)r;
}

static void build_table(uint32_t table[4][256], size_t lane) {
    uint32_t basis[32];
    for (int b = 0; b < 32; b++) basis[b] = zeros((uint32_t)1 << b, lane);
    for (int k = 0; k < 4; k++) {
        for (int v = 0; v < 256; v++) {
            uint32_t x = 0;
            for (int b = 0; b < 8; b++)
                if (v & (1 << b)) x ^= basis[8 * k + b];
            table[k][v] = x;
        }
    }
}

static void build_tables(void) {
    build_table(shift_long, LANE_LONG);
    build_table(shift_short, LANE_SHORT);
}

static inline uint32_t shift(const uint32_t table[4][256], uint32_t x) {
    return table[0][x & 0xFF] ^ table[1][(x >> 8) & 0xFF] ^ table[2][(x >> 16) & 0xFF] ^ table[3][x >> 24];
}

// Three lanes of `lane` bytes each from `p` (8-byte aligned reads not required), joined.
__attribute__((target("sse4.2")))
static inline uint64_t three_lanes(uint64_t c, const unsigned char *p, size_t lane, const uint32_t table[4][256]) {
    uint64_t c1 = 0, c2 = 0;
    for (size_t i = 0; i < lane; i += 8) {
        uint64_t v0, v1, v2;
        memcpy(&v0, p + i, 8);
        memcpy(&v1, p + lane + i, 8);
        memcpy(&v2, p + 2 * lane + i, 8);
        c = __builtin_ia32_crc32di(c, v0);
        c1 = __builtin_ia32_crc32di(c1, v1);
        c2 = __builtin_ia32_crc32di(c2, v2);
    }
    c = shift(table, (uint32_t)c) ^ (uint32_t)c1;
    return shift(table, (uint32_t)c) ^ (uint32_t)c2;
}

__attribute__((target("sse4.2")))
uint32_t trove_crc32c_hw_update(uint32_t crc, const void *buffer, size_t length) {
    const unsigned char *p = (const unsigned char *)buffer;
    uint64_t c = (uint32_t)~crc;
    while (length > 0 && ((uintptr_t)p & 7) != 0) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        length--;
    }
    if (length >= 3 * LANE_SHORT) {
        pthread_once(&shift_once, build_tables);
        while (length >= 3 * LANE_LONG) {
            c = three_lanes(c, p, LANE_LONG, shift_long);
            p += 3 * LANE_LONG;
            length -= 3 * LANE_LONG;
        }
        while (length >= 3 * LANE_SHORT) {
            c = three_lanes(c, p, LANE_SHORT, shift_short);
            p += 3 * LANE_SHORT;
            length -= 3 * LANE_SHORT;
        }
    }
    while (length >= 32) {
        uint64_t v0, v1, v2, v3;
        memcpy(&v0, p, 8);
        memcpy(&v1, p + 8, 8);
        memcpy(&v2, p + 16, 8);
        memcpy(&v3, p + 24, 8);
        c = __builtin_ia32_crc32di(c, v0);
        c = __builtin_ia32_crc32di(c, v1);
        c = __builtin_ia32_crc32di(c, v2);
        c = __builtin_ia32_crc32di(c, v3);
        p += 32;
        length -= 32;
    }
    while (length >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        length -= 8;
    }
    while (length > 0) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        length--;
    }
    return ~(uint32_t)c;
}

#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif

int trove_crc32c_hw_available(void) { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }

__attribute__((target("crc")))
uint32_t trove_crc32c_hw_update(uint32_t crc, const void *buffer, size_t length) {
    const unsigned char *p = (const unsigned char *)buffer;
    uint32_t c = ~crc;
    while (length >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_arm_crc32cd(c, v);
        p += 8;
        length -= 8;
    }
    while (length > 0) {
        c = __builtin_arm_crc32cb(c, *p++);
        length--;
    }
    return ~c;
}

#else

int trove_crc32c_hw_available(void) { return 0; }

uint32_t trove_crc32c_hw_update(uint32_t crc, const void *buffer, size_t length) {
    (void)buffer;
    (void)length;
    return crc;  // never called: trove_crc32c_hw_available() is 0
}

#endif
