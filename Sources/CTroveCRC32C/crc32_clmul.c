// CRC-32 (ISO-HDLC, the zlib/gzip/PNG polynomial, reflected 0xEDB88320) by carry-less
// multiplication (x86-64 PCLMULQDQ): the buffer is folded 64 bytes per step into four 128-bit
// accumulators, then into one, then reduced to 32 bits (Barrett). The method is Intel's
// "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ Instruction" (Gopal et al.,
// 2009); the constants are powers of x modulo the polynomial, bit-reflected. The Swift
// slicing-by-8 table code handles the tail and CPUs without the instruction, and is the
// reference this is tested against.
#include "trove_crc32c.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int trove_crc32_clmul_available(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    return (ecx & bit_PCLMUL) != 0 && (ecx & bit_SSE4_1) != 0;
}

// x · (k's low half, high half) folded 128 bits ahead, plus the next 16 bytes.
__attribute__((target("pclmul,sse4.1")))
static inline __m128i fold(__m128i x, __m128i k, __m128i next) {
    __m128i lo = _mm_clmulepi64_si128(x, k, 0x00);
    __m128i hi = _mm_clmulepi64_si128(x, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

__attribute__((target("pclmul,sse4.1")))
uint32_t trove_crc32_clmul_update(uint32_t crc, const void *buffer, size_t length) {
    const unsigned char *p = (const unsigned char *)buffer;
    const __m128i k1k2 = _mm_set_epi64x(0x1c6e41596LL, 0x154442bd4LL);  // x^(4·128±32) mod P
    const __m128i k3k4 = _mm_set_epi64x(0x0ccaa009eLL, 0x1751997d0LL);  // x^(128±32) mod P
    const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124LL);                // x^64 mod P
    const __m128i poly = _mm_set_epi64x(0x1f7011641LL, 0x1db710641LL);  // μ, P
    const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
    __m128i x0 = _mm_loadu_si128((const __m128i *)p);
    __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));
    x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)~crc));
    p += 64;
    length -= 64;
    while (length >= 64) {
        x0 = fold(x0, k1k2, _mm_loadu_si128((const __m128i *)p));
        x1 = fold(x1, k1k2, _mm_loadu_si128((const __m128i *)(p + 16)));
        x2 = fold(x2, k1k2, _mm_loadu_si128((const __m128i *)(p + 32)));
        x3 = fold(x3, k1k2, _mm_loadu_si128((const __m128i *)(p + 48)));
        p += 64;
        length -= 64;
    }
    x0 = fold(x0, k3k4, x1);
    x0 = fold(x0, k3k4, x2);
    x0 = fold(x0, k3k4, x3);
    while (length >= 16) {
        x0 = fold(x0, k3k4, _mm_loadu_si128((const __m128i *)p));
        p += 16;
        length -= 16;
    }
    // 128 → 64 bits (appending 32 zero bits), 64 → 32, then Barrett reduction.
    __m128i t = _mm_clmulepi64_si128(x0, k3k4, 0x10);
    x0 = _mm_xor_si128(_mm_srli_si128(x0, 8), t);
    t = _mm_and_si128(x0, mask32);
    x0 = _mm_srli_si128(x0, 4);
    x0 = _mm_xor_si128(x0, _mm_clmulepi64_si128(t, k5, 0x00));
    t = _mm_and_si128(x0, mask32);
    t = _mm_clmulepi64_si128(t, poly, 0x10);
    t = _mm_and_si128(t, mask32);
    t = _mm_clmulepi64_si128(t, poly, 0x00);
    x0 = _mm_xor_si128(x0, t);
    return ~(uint32_t)_mm_extract_epi32(x0, 1);
}

#else
int trove_crc32_clmul_available(void) { return 0; }
uint32_t trove_crc32_clmul_update(uint32_t crc, const void *buffer, size_t length) {
    (void)buffer;
    (void)length;
    return crc;
}
#endif
