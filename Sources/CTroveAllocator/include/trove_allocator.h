#ifndef TROVE_ALLOCATOR_H
#define TROVE_ALLOCATOR_H

/// Tunes glibc malloc for a process that allocates and frees many buffers of 64 KiB - 16 MiB
/// (chunks, frames, pack segments): keeps them in the heap instead of a fresh mmap (page
/// faults and zeroing) each time. Returns 1 if applied, 0 where the C library has no mallopt.
int trove_tune_allocator(void);

#endif
