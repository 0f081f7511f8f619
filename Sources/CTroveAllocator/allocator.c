// mallopt(3) settings for the transfer path; no other logic.
#include "trove_allocator.h"

#if defined(__GLIBC__)
#include <malloc.h>

int trove_tune_allocator(void) {
    // Buffers below 64 MiB come from the heap (default: above 128 KiB, adapting up to 32 MiB,
    // each a fresh mmap until the threshold has adapted, and after every trim).
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    // Keep up to 512 MiB of freed heap instead of returning (and re-faulting) it.
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    // Grow the heap 64 MiB at a time (address space; pages become resident only when used).
    mallopt(M_TOP_PAD, 64 << 20);
    return 1;
}

#else

int trove_tune_allocator(void) { return 0; }

#endif
