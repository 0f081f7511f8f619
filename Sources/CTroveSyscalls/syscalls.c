// System calls the Swift Glibc module does not export. No other logic.
#define _GNU_SOURCE
#include "trove_syscalls.h"

#include <errno.h>
#include <unistd.h>

int trove_syncfs(int fd) {
#if defined(__linux__)
    return syncfs(fd);
#else
    (void)fd;
    errno = ENOSYS;
    return -1;
#endif
}
