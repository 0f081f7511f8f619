// CRC-32C of a concatenation from the CRCs of its parts, without the bytes: for finished CRCs
// (pre- and post-inverted, as trove_crc32c_hw_update returns them), crc(A ‖ B) = crc(A)·x^(8·|B|)
// mod P ⊕ crc(B), because the inversions cancel. Multiplication modulo P is done bit by bit
// (reflected bit order: bit 31 is x^0); x^(8·n) is the product of the powers x^(2^k) for the set
// bits of 8·n, taken from a table of 64 squarings built once. Cost: about one 32-step product per
// set bit of n, independent of the bytes, so a sender that already checked a chunk's CRC-32C can
// fold it into a frame checksum instead of reading the chunk again.
#include "trove_crc32c.h"

#include <pthread.h>

#define POLY 0x82F63B78u  // reflected Castagnoli polynomial
#define ONE 0x80000000u   // x^0 in reflected order

static uint32_t x2k[64];  // x^(2^k) mod P
static pthread_once_t x2k_once = PTHREAD_ONCE_INIT;

// a · b mod P.
static uint32_t mul_mod_p(uint32_t a, uint32_t b) {
    uint32_t product = 0;
    for (uint32_t bit = ONE; bit != 0; bit >>= 1) {
        if (a & bit) product ^= b;
        b = (b & 1) ? (b >> 1) ^ POLY : b >> 1;  // b · x
    }
    return product;
}

static void make_x2k(void) {
    uint32_t p = ONE >> 1;  // x^1
    for (int k = 0; k < 64; k++) {
        x2k[k] = p;
        p = mul_mod_p(p, p);
    }
}

uint32_t trove_crc32c_combine(uint32_t crc1, uint32_t crc2, size_t length2) {
    pthread_once(&x2k_once, make_x2k);
    uint32_t shift = ONE;
    uint64_t n = (uint64_t)length2;
    for (int k = 3; n != 0 && k < 64; k++, n >>= 1) {  // 8·n = n · 2^3
        if (n & 1) shift = mul_mod_p(x2k[k], shift);
    }
    return mul_mod_p(shift, crc1) ^ crc2;
}
