#ifndef TROVE_CRC32C_H
#define TROVE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has a CRC-32C instruction trove_crc32c_hw_update can use (x86-64 SSE4.2,
/// AArch64 CRC32), else 0. Checked once, at run time.
int trove_crc32c_hw_available(void);

/// Extends `crc` (the finished CRC-32C of the bytes so far, 0 to start) with `length` bytes at
/// `buffer`, using the CPU's CRC-32C instruction. Only call when trove_crc32c_hw_available().
uint32_t trove_crc32c_hw_update(uint32_t crc, const void *buffer, size_t length);

/// Copies `length` bytes from `src` to `dst` (not overlapping) and returns `crc` extended with
/// them, as trove_crc32c_hw_update would, reading each byte once. Only call when
/// trove_crc32c_hw_available().
uint32_t trove_crc32c_hw_copy(uint32_t crc, void *dst, const void *src, size_t length);

/// The CRC-32C of the bytes A ‖ B from crc1 = CRC-32C(A), crc2 = CRC-32C(B) and length2 = |B|
/// (pure arithmetic, any CPU).
uint32_t trove_crc32c_combine(uint32_t crc1, uint32_t crc2, size_t length2);

/// 1 when this CPU can fold CRC-32 (ISO-HDLC) with carry-less multiplication
/// (trove_crc32_clmul_update: x86-64 PCLMULQDQ and SSE4.1), else 0. Checked at run time.
int trove_crc32_clmul_available(void);

/// Extends `crc` (the finished CRC-32 of the bytes so far, 0 to start) with `length` bytes at
/// `buffer`; `length` must be at least 64 and a multiple of 16. Only call when
/// trove_crc32_clmul_available().
uint32_t trove_crc32_clmul_update(uint32_t crc, const void *buffer, size_t length);

#endif
